package dev.echochain.bench;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/** Offers load to a {@link Caller}: a closed loop with a fixed number in flight, or an open loop at a fixed rate. */
final class Driver {

    private static final long MAX_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final long FAILURE_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private Driver() {
    }

    /**
     * Keeps {@code inFlight} requests outstanding for the window; each reply starts the next request.
     */
    static Window closed(String system, Caller caller, int inFlight, Duration length) throws InterruptedException {
        Recorder recorder = new Recorder(MAX_LATENCY_NANOS, 3);
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        CountDownLatch chains = new CountDownLatch(inFlight);
        long start = System.nanoTime();
        long deadline = start + length.toNanos();
        for (int i = 0; i < inFlight; i++) {
            chain(caller, deadline, recorder, ok, failed, firstError, chains);
        }
        if (!chains.await(length.toSeconds() + 30, TimeUnit.SECONDS)) {
            failed.addAndGet(chains.getCount());
            firstError.compareAndSet(null, chains.getCount() + " requests never completed");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Window(system, "closed", inFlight, seconds, ok.get(), failed.get(),
                micros(recorder.getIntervalHistogram()), firstError.get());
    }

    private static void chain(Caller caller, long deadline, Recorder recorder, AtomicLong ok, AtomicLong failed,
                              AtomicReference<String> firstError, CountDownLatch chains) {
        long sent = System.nanoTime();
        caller.call((valid, error) -> {
            long now = System.nanoTime();
            if (valid) {
                ok.incrementAndGet();
                recorder.recordValue(Math.min(now - sent, MAX_LATENCY_NANOS));
            } else {
                failed.incrementAndGet();
                firstError.compareAndSet(null, error);
            }
            if (now >= deadline) {
                chains.countDown();
            } else if (valid) {
                chain(caller, deadline, recorder, ok, failed, firstError, chains);
            } else {
                // a refused call may fail on the calling thread; pause and go on elsewhere instead of recursing
                Thread.startVirtualThread(() -> {
                    LockSupport.parkNanos(FAILURE_PAUSE_NANOS);
                    chain(caller, deadline, recorder, ok, failed, firstError, chains);
                });
            }
        });
    }

    /**
     * Sends requests on a fixed schedule, whatever the replies do; latency counts from each request's planned start,
     * so a stalled server cannot hide its queue (no coordinated omission).
     */
    static Window open(String system, Caller caller, double rate, Duration length) throws InterruptedException {
        Recorder recorder = new Recorder(MAX_LATENCY_NANOS, 3);
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        long total = Math.round(rate * length.toNanos() / 1e9);
        CountDownLatch replies = new CountDownLatch((int) total);
        double interval = 1e9 / rate;
        long start = System.nanoTime();
        for (long k = 0; k < total; k++) {
            long planned = start + (long) (k * interval);
            long wait = planned - System.nanoTime();
            if (wait > 20_000) {
                LockSupport.parkNanos(wait);
            }
            caller.call((valid, error) -> {
                long now = System.nanoTime();
                if (valid) {
                    ok.incrementAndGet();
                    recorder.recordValue(Math.min(Math.max(0, now - planned), MAX_LATENCY_NANOS));
                } else {
                    failed.incrementAndGet();
                    firstError.compareAndSet(null, error);
                }
                replies.countDown();
            });
        }
        if (!replies.await(30, TimeUnit.SECONDS)) {
            failed.addAndGet(replies.getCount());
            firstError.compareAndSet(null, replies.getCount() + " requests never completed");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Window(system, "open", rate, seconds, ok.get(), failed.get(),
                micros(recorder.getIntervalHistogram()), firstError.get());
    }

    private static Histogram micros(Histogram nanos) {
        Histogram micros = new Histogram(MAX_LATENCY_NANOS / 1000, 3);
        for (var value : nanos.recordedValues()) {
            micros.recordValueWithCount(Math.max(1, value.getValueIteratedTo() / 1000),
                    value.getCountAtValueIteratedTo());
        }
        return micros;
    }
}
