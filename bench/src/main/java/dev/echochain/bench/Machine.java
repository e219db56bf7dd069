package dev.echochain.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Where the figures came from: CPU, cores, kernel, JVM, and how busy the machine was. */
final class Machine {

    private Machine() {
    }

    static Map<String, Object> describe(String serverCpus) {
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cpu", read("/proc/cpuinfo").lines()
                .filter(line -> line.startsWith("model name"))
                .map(line -> line.substring(line.indexOf(':') + 1).strip())
                .findFirst()
                .orElse("unknown"));
        machine.put("cores", Runtime.getRuntime().availableProcessors() + " available to the harness, "
                + read("/proc/cpuinfo").lines().filter(line -> line.startsWith("processor")).count() + " online");
        machine.put("memory", read("/proc/meminfo").lines().findFirst().orElse("").replaceAll("\\s+", " "));
        machine.put("kernel", read("/proc/sys/kernel/osrelease").strip());
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        machine.put("server_cpus", serverCpus);
        machine.put("load_average_before", loadAverage());
        return machine;
    }

    static String loadAverage() {
        String[] fields = read("/proc/loadavg").split(" ");
        return fields.length >= 3 ? fields[0] + " " + fields[1] + " " + fields[2] : "unknown";
    }

    private static String read(String path) {
        try {
            return Files.readString(Path.of(path));
        } catch (IOException e) {
            return "";
        }
    }
}
