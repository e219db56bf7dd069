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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;

import dev.echochain.gateway.EchoGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SIGTERM to real service processes under load. echo-gateway: requests in flight complete, new connections are
 * refused, and the process exits with status 0. echo-server: the process exits with status 0, and the gateway in
 * front of it answers every request with 200 or a clean JSON 503, never an error of another kind.
 */
@Timeout(120)
class GracefulShutdownTest {

    private static final Tally TALLY = new Tally(GracefulShutdownTest.class);
    private static final Pattern GATEWAY_PORTS = Pattern.compile(
            "echo-gateway serving HTTPS over mutual TLS on port (\\d+), observe on port (\\d+)");
    private static final Pattern SERVER_PORTS = Pattern.compile(
            "echo-server serving gRPC over mutual TLS on port (\\d+), observe on port (\\d+)");
    private static final byte[] BODY = "{\"message\": \"finish me\"}".getBytes(StandardCharsets.UTF_8);
    private static final int IN_FLIGHT = 6;

    private Process service;

    @AfterEach
    void killService() throws InterruptedException {
        if (service != null && service.isAlive()) {
            service.destroyForcibly();
            service.waitFor(10, TimeUnit.SECONDS);
        }
        TALLY.publish();
    }

    @Test
    void sigtermUnderLoadCompletesInFlightRequestsRefusesNewOnesAndExitsZero() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().withFaultLink())) {
            Path log = chain.dir.resolve("gateway.log");
            service = startGateway(chain, log);
            int[] ports = awaitPorts(log, GATEWAY_PORTS);
            long readySince = System.nanoTime();
            while (TestChain.observeStatus(ports[1], "/observe/health/ready") != 204) {
                assertThat("the gateway process got ready within 20 s", System.nanoTime() - readySince,
                        lessThan(Duration.ofSeconds(20).toNanos()));
                Thread.sleep(50);
            }
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            assertThat(send(caller, ports[0]), is(200));

            chain.link.delayReplies(1500);
            double answered = echoCalls(chain);
            ExecutorService clients = Executors.newFixedThreadPool(IN_FLIGHT);
            List<Future<Integer>> inFlight = new ArrayList<>();
            for (int i = 0; i < IN_FLIGHT; i++) {
                inFlight.add(clients.submit(() -> send(caller, ports[0])));
            }
            // every request has passed the gateway and been answered by echo-server; the replies are on their way
            long waiting = System.nanoTime();
            while (echoCalls(chain) < answered + IN_FLIGHT) {
                assertThat("all requests reached echo-server within 10 s", System.nanoTime() - waiting,
                        lessThan(Duration.ofSeconds(10).toNanos()));
                Thread.sleep(20);
            }
            long signalled = System.nanoTime();
            service.destroy();
            TALLY.fault("sigterm");
            Thread.sleep(300);

            assertThrows(IOException.class, () -> send(caller, ports[0]), "a new connection after SIGTERM");
            for (Future<Integer> request : inFlight) {
                int status = request.get(20, TimeUnit.SECONDS);
                TALLY.request(status == 200, "in-flight request answered " + status);
            }
            clients.shutdown();
            assertThat("the gateway exited within 15 s", service.waitFor(15, TimeUnit.SECONDS), is(true));
            TALLY.measured("exit_after_sigterm_ms", Duration.ofNanos(System.nanoTime() - signalled).toMillis());

            assertThat("in-flight requests lost: " + TALLY.lostSamples(), TALLY.lost(), is(0L));
            assertThat("exit status; log:\n" + Files.readString(log), service.exitValue(), is(0));
        }
    }

    @Test
    void echoServerSigtermUnderLoadExitsZeroAndTheGatewayAnswersCleanly() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults())) {
            Path log = chain.dir.resolve("server.log");
            ProcessBuilder builder = javaProcess("dev.echochain.server.EchoServerMain", log);
            builder.environment().put("SPIFFE_ENDPOINT_SOCKET", chain.serverEndpoint.address());
            builder.environment().put("ECHO_ALLOWED_CALLERS", TestChain.GATEWAY_ID);
            service = builder.start();
            int[] ports = awaitPorts(log, SERVER_PORTS);
            EchoGateway front = EchoGateway.start(chain.gatewayConfig(ports[0], TestChain.SERVER_ID,
                    Duration.ofSeconds(2)), chain.gatewayIdentity);
            try {
                SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
                long start = System.nanoTime();
                while (send(caller, front.port()) != 200) {
                    assertThat("echo-server process answers within 20 s", System.nanoTime() - start,
                            lessThan(Duration.ofSeconds(20).toNanos()));
                    Thread.sleep(100);
                }
                Tally outcomes = new Tally(GracefulShutdownTest.class);
                AtomicInteger unavailable = new AtomicInteger();
                Load load = Load.start(4, () -> {
                    int status = send(caller, front.port());
                    if (status == 503) {
                        unavailable.incrementAndGet();
                    }
                    return status == 200 || status == 503 ? null : "answered " + status;
                }, outcomes);
                try {
                    Thread.sleep(500);
                    service.destroy();
                    TALLY.fault("sigterm");
                    assertThat("echo-server exited within 15 s", service.waitFor(15, TimeUnit.SECONDS), is(true));
                    Thread.sleep(300);
                } finally {
                    load.stop();
                }

                TALLY.measured("echo_server_sigterm_answers", outcomes.requests());
                TALLY.measured("echo_server_sigterm_answers_503", unavailable.get());
                assertThat("answers other than 200 or a clean 503: " + outcomes.lostSamples(), outcomes.lost(),
                        is(0L));
                assertThrows(IOException.class, () -> RawHttps.open(caller, ports[0], 2000).close(),
                        "a new connection to the stopped echo-server");
                assertThat("exit status; log:\n" + Files.readString(log), service.exitValue(), is(0));
            } finally {
                front.stop();
            }
        }
    }

    private static double echoCalls(TestChain chain) throws IOException, InterruptedException {
        return TestChain.metric(chain.server().observePort(), "echo_calls_seconds_count", "outcome=\"ok\"");
    }

    private static int send(SSLContext caller, int port) throws IOException {
        try (RawHttps http = RawHttps.open(caller, port, 10_000)) {
            return http.postEcho(BODY).status();
        }
    }

    /** A service's main class in a new JVM on this test's class path, on ephemeral loopback ports. */
    private static ProcessBuilder javaProcess(String mainClass, Path log) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder builder = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m",
                "-cp", classpath, mainClass)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("SERVER_HOST", "127.0.0.1");
        builder.environment().put("SERVER_PORT", "0");
        builder.environment().put("OBSERVE_PORT", "0");
        builder.environment().put("SERVER_SHUTDOWN_GRACE", "PT10S");
        return builder;
    }

    private static Process startGateway(TestChain chain, Path log) throws IOException {
        ProcessBuilder builder = javaProcess("dev.echochain.gateway.EchoGatewayMain", log);
        builder.environment().put("SPIFFE_ENDPOINT_SOCKET", chain.gatewayEndpoint.address());
        builder.environment().put("GATEWAY_UPSTREAM_ADDRESS", "127.0.0.1:" + chain.link.port());
        builder.environment().put("GATEWAY_UPSTREAM_ID", TestChain.SERVER_ID);
        builder.environment().put("GATEWAY_UPSTREAM_DEADLINE", "PT5S");
        builder.environment().put("GATEWAY_ALLOWED_CALLERS", TestChain.EXTERNAL_ID);
        return builder.start();
    }

    private int[] awaitPorts(Path log, Pattern ports) throws IOException, InterruptedException {
        long start = System.nanoTime();
        while (System.nanoTime() - start < Duration.ofSeconds(30).toNanos()) {
            if (Files.exists(log)) {
                Matcher matcher = ports.matcher(Files.readString(log));
                if (matcher.find()) {
                    return new int[] {Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2))};
                }
            }
            assertThat("the service process is running; log:\n" + (Files.exists(log) ? Files.readString(log) : ""),
                    service.isAlive(), is(true));
            Thread.sleep(50);
        }
        throw new AssertionError("the service did not log its ports within 30 s:\n" + Files.readString(log));
    }
}
