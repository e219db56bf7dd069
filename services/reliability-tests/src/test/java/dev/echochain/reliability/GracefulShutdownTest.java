package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SIGTERM to a real echo-gateway process while requests are in flight: they complete, new connections are refused,
 * and the process exits with status 0.
 */
@Timeout(120)
class GracefulShutdownTest {

    private static final Tally TALLY = new Tally(GracefulShutdownTest.class);
    private static final Pattern PORTS = Pattern.compile(
            "echo-gateway serving HTTPS over mutual TLS on port (\\d+), observe on port (\\d+)");
    private static final byte[] BODY = "{\"message\": \"finish me\"}".getBytes(StandardCharsets.UTF_8);
    private static final int IN_FLIGHT = 6;

    private Process gateway;

    @AfterEach
    void killGateway() throws InterruptedException {
        if (gateway != null && gateway.isAlive()) {
            gateway.destroyForcibly();
            gateway.waitFor(10, TimeUnit.SECONDS);
        }
        TALLY.publish();
    }

    @Test
    void sigtermUnderLoadCompletesInFlightRequestsRefusesNewOnesAndExitsZero() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().withFaultLink())) {
            Path log = chain.dir.resolve("gateway.log");
            gateway = startGateway(chain, log);
            int[] ports = awaitPorts(log);
            long readySince = System.nanoTime();
            while (TestChain.observeStatus(ports[1], "/observe/health/ready") != 204) {
                assertThat("the gateway process got ready within 20 s", System.nanoTime() - readySince,
                        lessThan(Duration.ofSeconds(20).toNanos()));
                Thread.sleep(50);
            }
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            assertThat(send(caller, ports[0]), is(200));

            chain.link.delayReplies(1500);
            ExecutorService clients = Executors.newFixedThreadPool(IN_FLIGHT);
            List<Future<Integer>> inFlight = new ArrayList<>();
            for (int i = 0; i < IN_FLIGHT; i++) {
                inFlight.add(clients.submit(() -> send(caller, ports[0])));
            }
            Thread.sleep(500);
            long signalled = System.nanoTime();
            gateway.destroy();
            TALLY.fault("sigterm");
            Thread.sleep(300);

            assertThrows(IOException.class, () -> send(caller, ports[0]), "a new connection after SIGTERM");
            for (Future<Integer> request : inFlight) {
                int status = request.get(20, TimeUnit.SECONDS);
                TALLY.request(status == 200, "in-flight request answered " + status);
            }
            clients.shutdown();
            assertThat("the gateway exited within 15 s", gateway.waitFor(15, TimeUnit.SECONDS), is(true));
            TALLY.measured("exit_after_sigterm_ms", Duration.ofNanos(System.nanoTime() - signalled).toMillis());

            assertThat("in-flight requests lost: " + TALLY.lostSamples(), TALLY.lost(), is(0L));
            assertThat("exit status; log:\n" + Files.readString(log), gateway.exitValue(), is(0));
        }
    }

    private static int send(SSLContext caller, int port) throws IOException {
        try (RawHttps http = RawHttps.open(caller, port, 10_000)) {
            return http.postEcho(BODY).status();
        }
    }

    private static Process startGateway(TestChain chain, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder builder = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m",
                "-cp", classpath, "dev.echochain.gateway.EchoGatewayMain")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SPIFFE_ENDPOINT_SOCKET", chain.gatewayEndpoint.address());
        builder.environment().put("SERVER_HOST", "127.0.0.1");
        builder.environment().put("SERVER_PORT", "0");
        builder.environment().put("OBSERVE_PORT", "0");
        builder.environment().put("SERVER_SHUTDOWN_GRACE", "PT10S");
        builder.environment().put("GATEWAY_UPSTREAM_ADDRESS", "127.0.0.1:" + chain.link.port());
        builder.environment().put("GATEWAY_UPSTREAM_ID", TestChain.SERVER_ID);
        builder.environment().put("GATEWAY_UPSTREAM_DEADLINE", "PT5S");
        builder.environment().put("GATEWAY_ALLOWED_CALLERS", TestChain.EXTERNAL_ID);
        return builder.start();
    }

    private int[] awaitPorts(Path log) throws IOException, InterruptedException {
        long start = System.nanoTime();
        while (System.nanoTime() - start < Duration.ofSeconds(30).toNanos()) {
            if (Files.exists(log)) {
                Matcher matcher = PORTS.matcher(Files.readString(log));
                if (matcher.find()) {
                    return new int[] {Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2))};
                }
            }
            assertThat("the gateway process is running; log:\n" + (Files.exists(log) ? Files.readString(log) : ""),
                    gateway.isAlive(), is(true));
            Thread.sleep(50);
        }
        throw new AssertionError("the gateway did not log its ports within 30 s:\n" + Files.readString(log));
    }
}
