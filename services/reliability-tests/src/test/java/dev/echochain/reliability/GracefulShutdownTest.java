package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
    private static final byte[] BODY = "{\"message\": \"finish me\"}".getBytes(StandardCharsets.UTF_8);
    private static final int IN_FLIGHT = 6;

    private ServiceProcess process;

    @AfterEach
    void killService() throws InterruptedException {
        if (process != null) {
            process.close();
        }
        TALLY.publish();
    }

    @Test
    void sigtermUnderLoadCompletesInFlightRequestsRefusesNewOnesAndExitsZero() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().withFaultLink())) {
            process = ServiceProcess.gateway(chain, chain.dir.resolve("gateway.log"), "-Xmx128m");
            int[] ports = process.start(ServiceProcess.GATEWAY_PORTS);
            Process service = process.process();
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
            assertThat("exit status; log:\n" + process.log(), service.exitValue(), is(0));
        }
    }

    @Test
    void echoServerSigtermUnderLoadExitsZeroAndTheGatewayAnswersCleanly() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults())) {
            process = ServiceProcess.prepare("dev.echochain.server.EchoServerMain", chain.dir.resolve("server.log"),
                    "-Xmx128m");
            process.environment().put("SPIFFE_ENDPOINT_SOCKET", chain.serverEndpoint.address());
            process.environment().put("ECHO_ALLOWED_CALLERS", TestChain.GATEWAY_ID);
            int[] ports = process.start(ServiceProcess.SERVER_PORTS);
            Process service = process.process();
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
                assertThat("exit status; log:\n" + process.log(), service.exitValue(), is(0));
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
}
