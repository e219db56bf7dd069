package dev.echochain.bench;

import org.HdrHistogram.Histogram;

/**
 * What one measuring window saw.
 *
 * @param system    the system under test
 * @param load      "closed" with a fixed number in flight, or "open" at a fixed offered rate
 * @param level     in-flight requests (closed) or offered requests per second (open)
 * @param seconds   the window's length
 * @param ok        valid replies
 * @param failed    failed or invalid replies; a window with failures does not count
 * @param latency   latency of valid replies in microseconds
 * @param firstError the first failure's reason, or null
 */
record Window(String system, String load, double level, double seconds, long ok, long failed, Histogram latency,
              String firstError) {

    double throughput() {
        return ok / seconds;
    }

    double p50() {
        return latency.getTotalCount() == 0 ? Double.NaN : latency.getValueAtPercentile(50) / 1000.0;
    }

    double p99() {
        return latency.getTotalCount() == 0 ? Double.NaN : latency.getValueAtPercentile(99) / 1000.0;
    }

    double p999() {
        return latency.getTotalCount() == 0 ? Double.NaN : latency.getValueAtPercentile(99.9) / 1000.0;
    }
}
