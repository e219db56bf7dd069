package dev.echochain.bench;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.HdrHistogram.Histogram;

/**
 * One compared pair, A (the reference) against B: both warm up in alternating slices, then every level of the ladder
 * measures A, B, A, B… and each round gives a ratio B/A, so that both sides of a ratio saw the same machine.
 */
final class Comparison {

    private static final System.Logger LOGGER = System.getLogger(Comparison.class.getName());

    final String id;
    final String title;
    final String nameA;
    final String nameB;
    final List<Integer> ladder;
    final Map<String, Object> extra = new LinkedHashMap<>();
    private final Map<Integer, List<Window>> windowsA = new TreeMap<>();
    private final Map<Integer, List<Window>> windowsB = new TreeMap<>();
    private final Map<Integer, List<Double>> cpuA = new TreeMap<>();
    private final Map<Integer, List<Double>> cpuB = new TreeMap<>();
    private List<Proc> serversA = List.of();
    private List<Proc> serversB = List.of();
    private long requestsA;
    private long requestsB;

    Comparison(String id, String title, String nameA, String nameB, List<Integer> ladder) {
        this.id = id;
        this.title = title;
        this.nameA = nameA;
        this.nameB = nameB;
        this.ladder = ladder;
    }

    /** The processes that serve A and B; their CPU time per valid request is reported beside the throughput. */
    Comparison servers(List<Proc> a, List<Proc> b) {
        this.serversA = a;
        this.serversB = b;
        return this;
    }

    private static double cpu(List<Proc> servers) {
        return servers.stream().mapToDouble(Proc::cpuSeconds).sum();
    }

    private Window measure(String name, Caller caller, List<Proc> servers, Map<Integer, List<Double>> cpu, int level,
                           Mode mode) throws InterruptedException {
        double before = cpu(servers);
        Window window = Driver.closed(name, caller, level, mode.window());
        double used = cpu(servers) - before;
        if (!servers.isEmpty() && window.ok() > 0 && window.failed() == 0) {
            cpu.computeIfAbsent(level, k -> new ArrayList<>()).add(used * 1e6 / window.ok());
        }
        return window;
    }

    void run(Mode mode, Caller a, Caller b) throws InterruptedException {
        for (int slice = 0; slice < mode.warmSlices(); slice++) {
            count(Driver.closed(nameA, a, 64, mode.warmSlice()), true);
            count(Driver.closed(nameB, b, 64, mode.warmSlice()), false);
        }
        for (int level : ladder) {
            for (int round = 0; round < mode.rounds(); round++) {
                Window wa = measure(nameA, a, serversA, cpuA, level, mode);
                Window wb = measure(nameB, b, serversB, cpuB, level, mode);
                count(wa, true);
                count(wb, false);
                windowsA.computeIfAbsent(level, k -> new ArrayList<>()).add(wa);
                windowsB.computeIfAbsent(level, k -> new ArrayList<>()).add(wb);
                LOGGER.log(Level.INFO, "{0} at {1}: {2} {3} rps p99 {4} us; {5} {6} rps p99 {7} us; ratio {8}",
                        id, level, nameA, Math.round(wa.throughput()), Math.round(wa.p99() * 1000), nameB,
                        Math.round(wb.throughput()), Math.round(wb.p99() * 1000),
                        String.format("%.2f", wb.throughput() / wa.throughput()));
            }
        }
    }

    private void count(Window window, boolean isA) {
        if (isA) {
            requestsA += window.ok() + window.failed();
        } else {
            requestsB += window.ok() + window.failed();
        }
        if (window.failed() > 0) {
            LOGGER.log(Level.WARNING, "{0}: {1} failed requests at {2}; first: {3}", window.system(),
                    window.failed(), window.level(), window.firstError());
        }
    }

    long requests(String side) {
        return side.equals("a") ? requestsA : requestsB;
    }

    /** The highest median throughput over the ladder, counting only windows without failures. */
    double maxThroughput(String side) {
        Map<Integer, List<Window>> windows = side.equals("a") ? windowsA : windowsB;
        return windows.values().stream()
                .mapToDouble(list -> Stats.of(list.stream()
                        .filter(w -> w.failed() == 0)
                        .map(Window::throughput)
                        .toList()).median())
                .filter(v -> !Double.isNaN(v))
                .max()
                .orElse(Double.NaN);
    }

    Stats throughputRatio(int level) {
        return ratio(level, true);
    }

    Stats p99Ratio(int level) {
        return ratio(level, false);
    }

    private Stats ratio(int level, boolean throughput) {
        List<Window> a = windowsA.getOrDefault(level, List.of());
        List<Window> b = windowsB.getOrDefault(level, List.of());
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            if (a.get(i).failed() == 0 && b.get(i).failed() == 0) {
                Window wa = a.get(i);
                Window wb = b.get(i);
                ratios.add(throughput ? wb.throughput() / wa.throughput() : wb.p99() / wa.p99());
            }
        }
        return Stats.of(ratios);
    }

    /** Server CPU microseconds per valid request, over the rounds. */
    Stats cpuPerRequest(String side, int level) {
        return Stats.of((side.equals("a") ? cpuA : cpuB).getOrDefault(level, List.of()));
    }

    Stats throughput(String side, int level) {
        return Stats.of((side.equals("a") ? windowsA : windowsB).getOrDefault(level, List.of()).stream()
                .filter(w -> w.failed() == 0)
                .map(Window::throughput)
                .toList());
    }

    Histogram merged(String side, int level) {
        Histogram all = new Histogram(60_000_000L, 3);
        for (Window w : (side.equals("a") ? windowsA : windowsB).getOrDefault(level, List.of())) {
            all.add(w.latency());
        }
        return all;
    }

    long failed(String side, int level) {
        return (side.equals("a") ? windowsA : windowsB).getOrDefault(level, List.of()).stream()
                .mapToLong(Window::failed).sum();
    }

    Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("id", id);
        map.put("title", title);
        map.put("a", nameA);
        map.put("b", nameB);
        map.put("ratio", "b / a, per interleaved round: median (min, max)");
        List<Object> levels = new ArrayList<>();
        for (int level : windowsA.keySet()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("in_flight", level);
            row.put("a", side("a", level));
            row.put("b", side("b", level));
            row.put("throughput_ratio", stats(throughputRatio(level)));
            row.put("p99_ratio", stats(p99Ratio(level)));
            List<Object> rounds = new ArrayList<>();
            List<Window> a = windowsA.get(level);
            List<Window> b = windowsB.getOrDefault(level, List.of());
            for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                rounds.add(List.of(describe(a.get(i)), describe(b.get(i))));
            }
            row.put("rounds", rounds);
            levels.add(row);
        }
        map.put("levels", levels);
        map.putAll(extra);
        return map;
    }

    private Map<String, Object> side(String side, int level) {
        Histogram latency = merged(side, level);
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("throughput_rps", stats(throughput(side, level)));
        map.put("p50_ms", percentile(latency, 50));
        map.put("p99_ms", percentile(latency, 99));
        map.put("p999_ms", percentile(latency, 99.9));
        map.put("failed", failed(side, level));
        map.put("server_cpu_us_per_request", stats(cpuPerRequest(side, level)));
        return map;
    }

    static double percentile(Histogram latency, double percentile) {
        return latency.getTotalCount() == 0 ? Double.NaN : latency.getValueAtPercentile(percentile) / 1000.0;
    }

    static Map<String, Object> stats(Stats stats) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("median", stats.median());
        map.put("min", stats.min());
        map.put("max", stats.max());
        map.put("n", stats.n());
        return map;
    }

    static Map<String, Object> describe(Window window) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("system", window.system());
        map.put("load", window.load());
        map.put("level", window.level());
        map.put("seconds", window.seconds());
        map.put("ok", window.ok());
        map.put("failed", window.failed());
        map.put("throughput_rps", window.throughput());
        map.put("p50_ms", window.p50());
        map.put("p99_ms", window.p99());
        map.put("p999_ms", window.p999());
        map.put("first_error", window.firstError());
        return map;
    }

    /** {@code <id>.dat}: in flight, throughput A, throughput B, p99 A (ms), p99 B (ms). */
    void writePlotData(Path out) throws IOException {
        StringBuilder data = new StringBuilder("# in_flight " + nameA + "_rps " + nameB + "_rps " + nameA + "_p99_ms "
                + nameB + "_p99_ms\n");
        for (int level : windowsA.keySet()) {
            data.append(String.format("%d %.1f %.1f %.3f %.3f%n", level, throughput("a", level).median(),
                    throughput("b", level).median(), percentile(merged("a", level), 99),
                    percentile(merged("b", level), 99)));
        }
        Files.writeString(out.resolve(id + ".dat"), data.toString().replace("NaN", "NaN"));
    }
}
