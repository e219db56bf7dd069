package dev.echochain.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Checks a run's figures against the targets; a target whose figures are missing is "not measured". */
final class Targets {

    private Targets() {
    }

    static List<Object> evaluate(Map<String, Object> results, List<Comparison> comparisons) {
        List<Object> targets = new ArrayList<>();
        Comparison echo = find(comparisons, "echo-server-vs-grpc-java");
        for (int level : List.of(16, 64)) {
            Stats ratio = echo == null || !echo.ladder.contains(level) ? null : echo.throughputRatio(level);
            targets.add(target("1", "echo-server / grpc-java throughput at " + level + " in flight", ratio, 1.2,
                    true));
        }
        Comparison gateway = find(comparisons, "gateway-vs-direct");
        if (gateway != null) {
            double ratio = gateway.maxThroughput("b") / gateway.maxThroughput("a");
            targets.add(target("2", "gateway / direct echo-server, highest throughput of each",
                    new Stats(ratio, ratio, ratio, 1), 0.33, true));
            Map<?, ?> hop = (Map<?, ?>) gateway.extra.get("gateway_to_server_hop");
            double per10k = ((Number) hop.get("handshakes_per_10k_requests")).doubleValue();
            targets.add(target("2", "new TLS handshakes per 10,000 requests, gateway to echo-server",
                    new Stats(per10k, per10k, per10k, 1), 1, false));
            Map<?, ?> half = (Map<?, ?>) gateway.extra.get("p99_at_half_max_rate");
            targets.add(target("6", "p99 at half the highest rate, gateway / direct", stats(half.get("p99_ratio")), 3,
                    false));
        } else {
            targets.add(target("2", "gateway / direct echo-server", null, 0.33, true));
            targets.add(target("6", "p99 at half the highest rate, gateway / direct", null, 3, false));
        }
        Map<?, ?> handshakes = (Map<?, ?>) results.get("handshakes");
        targets.add(target("3", "server CPU per mTLS handshake, echo-server / nginx",
                handshakes == null ? null : stats(handshakes.get("echo_server_over_nginx")), 1.2, false));
        Map<?, ?> startup = (Map<?, ?>) results.get("startup_and_memory");
        for (String service : List.of("echo-server", "echo-gateway")) {
            Map<?, ?> settings = startup == null ? null : (Map<?, ?>) startup.get(service);
            Map<?, ?> image = settings == null ? null : (Map<?, ?>) settings.get("image flags");
            targets.add(target("4", service + " RSS under load (MiB), image flags",
                    image == null ? null : stats(image.get("rss_under_load_mib")), 150, false));
            Map<?, ?> defaults = settings == null ? null : (Map<?, ?>) settings.get("JVM defaults");
            Map<?, ?> aot = settings == null ? null : (Map<?, ?>) settings.get("image flags + AOT cache");
            Stats ratio = null;
            if (defaults != null && aot != null) {
                double r = stats(aot.get("start_to_first_mtls_reply_ms")).median()
                        / stats(defaults.get("start_to_first_mtls_reply_ms")).median();
                ratio = new Stats(r, r, r, 1);
            }
            targets.add(target("5", service + " start to first mTLS reply, image flags + AOT cache / JVM defaults",
                    ratio, 0.4, false));
        }
        Map<?, ?> rotation = (Map<?, ?>) results.get("rotation");
        if (rotation != null) {
            double failed = ((Number) rotation.get("failed_requests")).doubleValue()
                    + ((Number) rotation.get("failed_new_handshakes")).doubleValue();
            targets.add(target("7", "failed requests and handshakes over " + rotation.get("rotations")
                    + " rotations under load", new Stats(failed, failed, failed, 1), 0, false));
            double worst = Math.max(number(rotation.get("echo_server_new_svid_ms_max")),
                    number(rotation.get("gateway_new_svid_ms_max")));
            targets.add(target("7", "slowest rotation: push to the last new connection that got the old SVID (ms)",
                    new Stats(worst, worst, worst, 1), 100, false));
        } else {
            targets.add(target("7", "SVID rotation under load", null, 0, false));
        }
        Map<?, ?> soak = (Map<?, ?>) results.get("soak");
        if (soak != null) {
            double failed = number(soak.get("requests_failed"));
            targets.add(target("soak", "failed requests over " + soak.get("seconds") + " s at "
                    + format(number(soak.get("rate_rps"))) + " requests/s", new Stats(failed, failed, failed, 1), 0,
                    false));
            for (String service : List.of("gateway", "echo_server")) {
                double growth = number(((Map<?, ?>) soak.get(service + "_rss")).get("second_half_growth_percent"));
                targets.add(target("soak", service.replace('_', '-') + " RSS growth over the soak's second half (%)",
                        new Stats(growth, growth, growth, 1), 5, false));
            }
        } else {
            targets.add(target("soak", "soak at a moderate rate", null, 0, false));
        }
        return targets;
    }

    private static double number(Object value) {
        return value instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private static Comparison find(List<Comparison> comparisons, String id) {
        return comparisons.stream().filter(c -> c.id.equals(id)).findFirst().orElse(null);
    }

    private static Stats stats(Object map) {
        if (!(map instanceof Map<?, ?> m) || !(m.get("median") instanceof Number median)) {
            return null;
        }
        return new Stats(median.doubleValue(), ((Number) m.get("min")).doubleValue(),
                ((Number) m.get("max")).doubleValue(), ((Number) m.get("n")).intValue());
    }

    private static Map<String, Object> target(String number, String measure, Stats value, double limit,
                                              boolean atLeast) {
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("target", number);
        target.put("measure", measure);
        target.put("limit", (atLeast ? ">= " : "<= ") + format(limit));
        boolean measured = value != null && value.n() > 0 && !Double.isNaN(value.median());
        target.put("value", measured ? value.text(value.median() >= 10 ? "%.0f" : "%.2f") : "not measured");
        target.put("median", measured ? value.median() : null);
        target.put("met", measured ? (atLeast ? value.median() >= limit : value.median() <= limit) : null);
        return target;
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
