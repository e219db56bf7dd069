package dev.echochain.bench;

import java.util.List;
import java.util.Map;

/** The markdown tables and the gnuplot script of a run. */
final class Report {

    private Report() {
    }

    static String markdown(Map<String, Object> results, List<Comparison> comparisons) {
        StringBuilder md = new StringBuilder();
        md.append("# echo-chain benchmark, ").append(results.get("mode")).append(" mode\n\n");
        md.append("Started ").append(results.get("started")).append(", finished ")
                .append(results.getOrDefault("finished", "(running)")).append(".\n\n");
        Map<?, ?> machine = (Map<?, ?>) results.get("machine");
        md.append("Machine: ").append(machine.get("cpu")).append("; ").append(machine.get("cores")).append("; ")
                .append(machine.get("memory")).append("; kernel ").append(machine.get("kernel")).append("; ")
                .append(machine.get("java")).append(". Servers on CPU ").append(machine.get("server_cpus"))
                .append(", load generator on the other. Load average before: ")
                .append(machine.get("load_average_before")).append(", after: ")
                .append(results.getOrDefault("load_average_after", "n/a")).append(". Load generator crypto: ")
                .append(results.get("harness_crypto")).append(".\n\n");

        md.append("## Targets\n\n| # | measure | value: median (min–max) | limit | met |\n|---|---|---|---|---|\n");
        for (Object item : (List<?>) results.get("targets")) {
            Map<?, ?> t = (Map<?, ?>) item;
            Object met = t.get("met");
            md.append("| ").append(t.get("target")).append(" | ").append(t.get("measure")).append(" | ")
                    .append(t.get("value")).append(" | ").append(t.get("limit")).append(" | ")
                    .append(met == null ? "—" : (Boolean) met ? "yes" : "**no**").append(" |\n");
        }

        for (Comparison pair : comparisons) {
            md.append("\n## ").append(pair.title).append("\n\n");
            md.append("A = ").append(pair.nameA).append(", B = ").append(pair.nameB)
                    .append(". Ratios are B/A per interleaved round: median (min–max). Server CPU counts every ")
                    .append("process that serves the side (for the gateway: gateway and echo-server).\n\n");
            md.append("| in flight | A rps | B rps | B/A rps | A p50/p99/p99.9 ms | B p50/p99/p99.9 ms | B/A p99 "
                    + "| server CPU µs/request A, B | failed A/B |\n|---|---|---|---|---|---|---|---|---|\n");
            for (int level : pair.ladder) {
                var a = pair.merged("a", level);
                var b = pair.merged("b", level);
                md.append("| ").append(level)
                        .append(" | ").append(pair.throughput("a", level).text("%.0f"))
                        .append(" | ").append(pair.throughput("b", level).text("%.0f"))
                        .append(" | ").append(pair.throughputRatio(level).text("%.2f"))
                        .append(" | ").append(percentiles(a))
                        .append(" | ").append(percentiles(b))
                        .append(" | ").append(pair.p99Ratio(level).text("%.2f"))
                        .append(" | ").append(pair.cpuPerRequest("a", level).text("%.0f")).append(", ")
                        .append(pair.cpuPerRequest("b", level).text("%.0f"))
                        .append(" | ").append(pair.failed("a", level)).append("/").append(pair.failed("b", level))
                        .append(" |\n");
            }
            pair.extra.forEach((key, value) -> {
                Object shown = value;
                if (value instanceof Map<?, ?> map && map.containsKey("windows")) {
                    Map<Object, Object> summary = new java.util.LinkedHashMap<>(map);
                    summary.remove("windows");
                    shown = summary;
                }
                md.append("\n").append(key).append(": `")
                        .append(Json.write(shown).replaceAll("\\s+", " ").strip()).append("`\n");
            });
            md.append("\n![").append(pair.id).append("](").append(pair.id).append(".png)\n");
        }

        Map<?, ?> handshakes = (Map<?, ?>) results.get("handshakes");
        if (handshakes != null) {
            md.append("\n## Server CPU per new mTLS connection\n\n").append(handshakes.get("style")).append(".\n\n")
                    .append("| server | ms CPU per handshake: median (min–max) |\n|---|---|\n");
            ((Map<?, ?>) handshakes.get("ms_per_handshake")).forEach((server, stats) ->
                    md.append("| ").append(server).append(" | ").append(text(stats, "%.2f")).append(" |\n"));
            md.append("\necho-server / nginx: ").append(text(handshakes.get("echo_server_over_nginx"), "%.2f"))
                    .append("\n");
        }

        Map<?, ?> startup = (Map<?, ?>) results.get("startup_and_memory");
        if (startup != null) {
            md.append("\n## Start-up and memory\n\n| service | JVM settings | start to first mTLS reply ms "
                    + "| RSS idle MiB | RSS under load MiB | rps at 64 under load |\n|---|---|---|---|---|---|\n");
            startup.forEach((service, settings) -> ((Map<?, ?>) settings).forEach((setting, figures) -> {
                Map<?, ?> f = (Map<?, ?>) figures;
                md.append("| ").append(service).append(" | ").append(setting).append(" | ")
                        .append(text(f.get("start_to_first_mtls_reply_ms"), "%.0f")).append(" | ")
                        .append(text(f.get("rss_idle_mib"), "%.0f")).append(" | ")
                        .append(text(f.get("rss_under_load_mib"), "%.0f")).append(" | ")
                        .append(text(f.get("throughput_at_64"), "%.0f")).append(" |\n");
            }));
        }

        Map<?, ?> rotation = (Map<?, ?>) results.get("rotation");
        if (rotation != null) {
            md.append("\n## SVID rotation under load\n\n").append(rotation.get("rotations"))
                    .append(" rotations; load: ").append(rotation.get("load")).append(".\n\n")
                    .append("- failed requests: ").append(rotation.get("failed_requests"))
                    .append("; failed new handshakes: ").append(rotation.get("failed_new_handshakes")).append("\n")
                    .append("- from the push to the latest start of a new connection that still got the old SVID, ")
                    .append("echo-server: ")
                    .append(text(rotation.get("echo_server_new_svid_ms"), "%.1f"))
                    .append(" ms (to the end of the first handshake with the new SVID: ")
                    .append(text(rotation.get("echo_server_new_svid_done_ms"), "%.1f")).append(" ms)\n")
                    .append("- the same for echo-gateway: ")
                    .append(text(rotation.get("gateway_new_svid_ms"), "%.1f")).append(" ms (")
                    .append(text(rotation.get("gateway_new_svid_done_ms"), "%.1f")).append(" ms)\n");
        }

        Map<?, ?> soak = (Map<?, ?>) results.get("soak");
        if (soak != null) {
            md.append("\n## Soak\n\n").append(soak.get("seconds")).append(" s at ")
                    .append(String.format("%.0f", ((Number) soak.get("rate_rps")).doubleValue()))
                    .append(" requests/s, ").append(soak.get("load")).append(": ").append(soak.get("requests_ok"))
                    .append(" valid replies, ").append(soak.get("requests_failed")).append(" failed")
                    .append(soak.get("first_error") == null ? "" : " (first: " + soak.get("first_error") + ")")
                    .append(".\n\n| window | ok | failed | p50/p99/p99.9 ms | gateway RSS MiB | echo-server RSS MiB ")
                    .append("|\n")
                    .append("|---|---|---|---|---|---|\n");
            int i = 1;
            for (Object item : (List<?>) soak.get("windows")) {
                Map<?, ?> w = (Map<?, ?>) item;
                md.append("| ").append(i++).append(" | ").append(w.get("ok")).append(" | ").append(w.get("failed"))
                        .append(" | ").append(String.format("%.2f / %.2f / %.2f", w.get("p50_ms"), w.get("p99_ms"),
                                w.get("p999_ms")))
                        .append(" | ").append(String.format("%.0f", w.get("gateway_rss_mib")))
                        .append(" | ").append(String.format("%.0f", w.get("echo_server_rss_mib"))).append(" |\n");
            }
            for (String service : List.of("gateway", "echo_server")) {
                Map<?, ?> t = (Map<?, ?>) soak.get(service + "_rss");
                md.append("\n").append(service.replace('_', '-')).append(" RSS: ")
                        .append(String.format("%.0f MiB after the first window, %.0f at the midpoint, %.0f at the end "
                                        + "(highest %.0f); second half %+.1f%%.", t.get("first_mib"), t.get("mid_mib"),
                                t.get("last_mib"), t.get("max_mib"), t.get("second_half_growth_percent")));
            }
            md.append("\n");
        }
        return md.toString();
    }

    private static String percentiles(org.HdrHistogram.Histogram latency) {
        return String.format("%.2f / %.2f / %.2f", Comparison.percentile(latency, 50),
                Comparison.percentile(latency, 99), Comparison.percentile(latency, 99.9));
    }

    private static String text(Object stats, String format) {
        if (!(stats instanceof Map<?, ?> m) || !(m.get("median") instanceof Number median)) {
            return "n/a";
        }
        return new Stats(median.doubleValue(), ((Number) m.get("min")).doubleValue(),
                ((Number) m.get("max")).doubleValue(), ((Number) m.get("n")).intValue()).text(format);
    }

    /** One PNG per pair: throughput (left axis) and p99 (right axis, log) against in-flight requests. */
    static String gnuplot(List<Comparison> comparisons) {
        StringBuilder gp = new StringBuilder("""
                set terminal pngcairo size 900,500 font ',10'
                set logscale x 2
                set xlabel 'requests in flight'
                set ylabel 'throughput (requests/s)'
                set y2label 'p99 latency (ms)'
                set logscale y2 10
                set ytics nomirror
                set y2tics
                set key outside bottom center horizontal
                set grid
                """);
        for (Comparison pair : comparisons) {
            gp.append("set output '").append(pair.id).append(".png'\n")
                    .append("set title \"").append(pair.title.replace("\"", "'")).append("\" noenhanced\n")
                    .append("plot '").append(pair.id).append(".dat' using 1:2 with linespoints lw 2 title '")
                    .append(pair.nameA).append(" rps' noenhanced, ")
                    .append("'' using 1:3 with linespoints lw 2 title '").append(pair.nameB)
                    .append(" rps' noenhanced, ")
                    .append("'' using 1:4 axes x1y2 with linespoints dt 2 title '").append(pair.nameA)
                    .append(" p99' noenhanced, ")
                    .append("'' using 1:5 axes x1y2 with linespoints dt 2 title '").append(pair.nameB)
                    .append(" p99' noenhanced\n");
        }
        return gp.toString();
    }
}
