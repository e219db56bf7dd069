package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's main class in a JVM of its own on this test's class path, on ephemeral loopback ports, with its output
 * in a log file; {@link #close()} kills it if it still runs.
 */
final class ServiceProcess implements AutoCloseable {

    static final Pattern GATEWAY_PORTS = Pattern.compile(
            "echo-gateway serving HTTPS over mutual TLS on port (\\d+), observe on port (\\d+)");
    static final Pattern SERVER_PORTS = Pattern.compile(
            "echo-server serving gRPC over mutual TLS on port (\\d+), observe on port (\\d+)");

    private final ProcessBuilder builder;
    private final Path log;
    private Process process;

    private ServiceProcess(ProcessBuilder builder, Path log) {
        this.builder = builder;
        this.log = log;
    }

    /**
     * Prepares the process; {@link #environment()} can still be changed before {@link #start()}.
     *
     * @param mainClass the service's main class
     * @param log       where its output goes
     * @param jvmFlags  JVM flags, such as the heap size
     * @return the prepared process
     */
    static ServiceProcess prepare(String mainClass, Path log, String... jvmFlags) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        command.addAll(List.of(jvmFlags));
        command.addAll(List.of("-cp", classpath, mainClass));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SERVER_HOST", "127.0.0.1");
        builder.environment().put("SERVER_PORT", "0");
        builder.environment().put("OBSERVE_PORT", "0");
        builder.environment().put("SERVER_SHUTDOWN_GRACE", "PT10S");
        return new ServiceProcess(builder, log);
    }

    /**
     * echo-gateway with the chain's gateway identity, calling echo-server through the chain's fault link and
     * allowing traefik-external's ID.
     *
     * @param chain    the chain whose Workload API and fault link it uses
     * @param log      where its output goes
     * @param jvmFlags JVM flags, such as the heap size
     * @return the prepared process
     */
    static ServiceProcess gateway(TestChain chain, Path log, String... jvmFlags) {
        ServiceProcess gateway = prepare("dev.echochain.gateway.EchoGatewayMain", log, jvmFlags);
        gateway.environment().put("SPIFFE_ENDPOINT_SOCKET", chain.gatewayEndpoint.address());
        gateway.environment().put("GATEWAY_UPSTREAM_ADDRESS", "127.0.0.1:" + chain.link.port());
        gateway.environment().put("GATEWAY_UPSTREAM_ID", TestChain.SERVER_ID);
        gateway.environment().put("GATEWAY_UPSTREAM_DEADLINE", "PT5S");
        gateway.environment().put("GATEWAY_ALLOWED_CALLERS", TestChain.EXTERNAL_ID);
        return gateway;
    }

    Map<String, String> environment() {
        return builder.environment();
    }

    /**
     * Starts the process and waits until it logs its ports.
     *
     * @param ports the log line that names the mutual-TLS port and the observe port
     * @return the mutual-TLS port and the observe port
     * @throws IOException when the process cannot start or its log cannot be read
     */
    int[] start(Pattern ports) throws IOException, InterruptedException {
        process = builder.start();
        long start = System.nanoTime();
        while (System.nanoTime() - start < Duration.ofSeconds(30).toNanos()) {
            if (Files.exists(log)) {
                Matcher matcher = ports.matcher(Files.readString(log));
                if (matcher.find()) {
                    return new int[] {Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2))};
                }
            }
            assertThat("the service process is running; log:\n" + log(), process.isAlive(), is(true));
            Thread.sleep(50);
        }
        throw new AssertionError("the service did not log its ports within 30 s:\n" + log());
    }

    Process process() {
        return process;
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
