package dev.echochain.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A process under test, pinned to the server cores with {@code taskset}: its CPU time and resident memory are read
 * from {@code /proc}, and it is stopped with SIGTERM (SIGKILL after 15 s).
 */
final class Proc implements AutoCloseable {

    private static final double CLOCK_TICKS = 100.0;

    final String name;
    final long startNanos;
    private final Process process;

    private Proc(String name, Process process, long startNanos) {
        this.name = name;
        this.process = process;
        this.startNanos = startNanos;
    }

    /** Starts a command pinned to {@code cpus}, its output appended to {@code <logs>/<name>.log}. */
    static Proc start(String name, String cpus, List<String> command, Map<String, String> env, Path logs)
            throws IOException {
        List<String> full = new ArrayList<>(List.of("taskset", "-c", cpus));
        full.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(full)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve(name + ".log").toFile()));
        builder.environment().putAll(env);
        long start = System.nanoTime();
        return new Proc(name, builder.start(), start);
    }

    /** Starts a Java process with the given JVM flags, then the class path or jar and its arguments. */
    static Proc java(String name, String cpus, List<String> jvmFlags, List<String> tail, Map<String, String> env,
                     Path logs) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.addAll(tail);
        return start(name, cpus, command, env, logs);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** User plus system CPU seconds of all the process's threads so far. */
    double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / CLOCK_TICKS;
        } catch (IOException e) {
            throw new IllegalStateException(name + " is gone: " + e.getMessage(), e);
        }
    }

    /** Resident set size in MiB. */
    double rssMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
            return Double.NaN;
        } catch (IOException e) {
            throw new IllegalStateException(name + " is gone: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the process to exit after SIGTERM, e.g. so that the JVM writes its AOT cache. */
    boolean stopAndWait(long seconds) throws InterruptedException {
        process.destroy();
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }
}
