package dev.echochain.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The figures one test class measured: bad inputs tried and their kinds, faults injected, requests sent and lost.
 * {@link #publish()} prints one summary line and writes it to {@code target/figures/<class>.txt}, where the docs'
 * figures are copied from.
 */
final class Tally {

    private static final System.Logger LOGGER = System.getLogger(Tally.class.getName());

    private final String name;
    private final Map<String, LongAdder> inputs = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> faults = new ConcurrentHashMap<>();
    private final LongAdder requests = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final Set<String> lostSamples = ConcurrentHashMap.newKeySet();
    private final Map<String, String> measured = new ConcurrentHashMap<>();

    Tally(Class<?> test) {
        this.name = test.getSimpleName();
    }

    /** Counts one hostile input of a kind, e.g. {@code invalid-utf8}. */
    void input(String kind) {
        inputs.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    /** Counts one injected fault of a kind, e.g. {@code svid-rotation}. */
    void fault(String kind) {
        faults.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    /** Counts one request that should have succeeded, and whether it did. */
    void request(boolean ok, String detail) {
        requests.increment();
        if (!ok) {
            lost.increment();
            if (lostSamples.size() < 5) {
                lostSamples.add(detail);
            }
        }
    }

    /** Keeps one measured figure for the summary line, e.g. {@code ready_ms=240}. */
    void measured(String name, Object value) {
        measured.put(name, String.valueOf(value));
    }

    long lost() {
        return lost.sum();
    }

    long requests() {
        return requests.sum();
    }

    Set<String> lostSamples() {
        return Set.copyOf(lostSamples);
    }

    /** Logs the summary line and writes it under {@code target/figures}. */
    void publish() {
        String line = "FIGURES " + name
                + " inputs=" + total(inputs) + " input_kinds=" + inputs.size()
                + " faults=" + total(faults) + " fault_kinds=" + faults.size()
                + " requests=" + requests.sum() + " lost=" + lost.sum()
                + " input_detail=" + detail(inputs) + " fault_detail=" + detail(faults)
                + " measured=" + new TreeMap<>(measured).toString().replace(" ", "");
        LOGGER.log(System.Logger.Level.INFO, line);
        try {
            Path dir = Path.of("target", "figures");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name + ".txt"), line + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to write the figures of " + name, e);
        }
    }

    private static long total(Map<String, LongAdder> counts) {
        return counts.values().stream().mapToLong(LongAdder::sum).sum();
    }

    private static String detail(Map<String, LongAdder> counts) {
        Map<String, Long> sorted = new TreeMap<>();
        counts.forEach((kind, count) -> sorted.put(kind, count.sum()));
        return sorted.toString().replace(" ", "");
    }
}
