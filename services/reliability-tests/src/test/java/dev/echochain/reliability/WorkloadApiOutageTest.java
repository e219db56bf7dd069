package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import com.sun.management.OperatingSystemMXBean;
import dev.echochain.devworkload.LocalWorkloadApi;
import dev.echochain.devworkload.WorkloadEndpoint;
import dev.echochain.gateway.EchoGateway;
import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.WorkloadIdentity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Workload API missing at start, or going away later: the services start, say they are not ready, keep serving on
 * the SVID they hold while it is valid, and come back on their own when the API returns.
 */
@Timeout(90)
class WorkloadApiOutageTest {

    private static final Tally TALLY = new Tally(WorkloadApiOutageTest.class);
    private static final byte[] BODY = "{\"message\": \"outage\"}".getBytes(StandardCharsets.UTF_8);

    @AfterAll
    static void publish() {
        TALLY.publish();
    }

    @Test
    void absentWorkloadApiAtStartMeansNotReadyThenReadyWithinOneSecondOfItsArrival() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "ec-");
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        try (LocalWorkloadApi api = LocalWorkloadApi.builder().trustDomain("echo.local").build()) {
            WorkloadEndpoint endpoint = api.addWorkload(TestChain.GATEWAY_ID, dir.resolve("g.sock"));
            endpoint.stop();
            TALLY.fault("workload-api-absent-at-start");
            WorkloadIdentity identity = WorkloadIdentity.start(new IdentityConfig(endpoint.address(),
                    Duration.ofSeconds(30)));
            EchoGateway gateway = EchoGateway.start(new TestChainConfig(endpoint).gateway(closedPort), identity);
            try {
                // let the start-up work settle before measuring what waiting costs
                Thread.sleep(1000);
                OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
                long cpuBefore = os.getProcessCpuTime();
                long wallBefore = System.nanoTime();
                Thread.sleep(2000);
                double cpuShare = (double) (os.getProcessCpuTime() - cpuBefore) / (System.nanoTime() - wallBefore);
                TALLY.measured("waiting_cpu_share", String.format(java.util.Locale.ROOT, "%.3f", cpuShare));
                assertThat("share of one core used while waiting for the Workload API", cpuShare, lessThan(0.1));
                for (int i = 0; i < 3; i++) {
                    assertThat("alive without an SVID", TestChain.observeStatus(gateway.observePort(),
                            "/observe/health/live"), is(204));
                    assertThat("not ready without an SVID", TestChain.observeStatus(gateway.observePort(),
                            "/observe/health/ready"), is(503));
                }

                endpoint.start();
                long start = System.nanoTime();
                while (TestChain.observeStatus(gateway.observePort(), "/observe/health/ready") != 204) {
                    Thread.sleep(10);
                }
                long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();

                TALLY.measured("ready_after_arrival_ms", millis);
                assertThat("milliseconds from the Workload API's arrival to readiness", millis, lessThan(1000L));
            } finally {
                gateway.stop();
                identity.close();
            }
        } finally {
            TestChain.deleteTree(dir);
        }
    }

    @Test
    void workloadApiOutageKeepsServingOnTheHeldSvidUntilItExpiresThenRecovers() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().svidTtl(Duration.ofSeconds(6)))) {
            chain.gatewayEndpoint.stop();
            chain.serverEndpoint.stop();
            TALLY.fault("workload-api-outage");
            Instant expiry = chain.gatewayIdentity.getX509Svid().getLeaf().getNotAfter().toInstant();
            Instant serverExpiry = chain.serverIdentity.getX509Svid().getLeaf().getNotAfter().toInstant();

            // new connections, each with a full handshake, keep working on the held SVIDs
            while (Instant.now().isBefore(expiry.minusMillis(700))) {
                try (RawHttps http = chain.raw(chain.caller(TestChain.EXTERNAL_ID))) {
                    RawHttps.Reply reply = http.postEcho(BODY);
                    TALLY.request(reply.status() == 200, reply.body());
                }
                assertThat("ready while the held SVID is valid", TestChain.observeStatus(chain.gateway.observePort(),
                        "/observe/health/ready"), is(204));
                Thread.sleep(100);
            }
            assertThat("requests lost during the outage", TALLY.lost(), is(0L));
            assertThat("requests served during the outage", TALLY.requests(), greaterThanOrEqualTo(5L));

            while (TestChain.observeStatus(chain.gateway.observePort(), "/observe/health/ready") != 503) {
                Thread.sleep(20);
            }
            Instant down = Instant.now();
            assertThat("readiness went down at expiry, not before", down.isBefore(expiry.minusMillis(100)),
                    is(false));
            assertThat("ms from expiry to readiness down", Duration.between(expiry, down).toMillis(), lessThan(1000L));
            while (Instant.now().isBefore(serverExpiry)) {
                Thread.sleep(20);
            }
            assertThat("echo-server not ready after its SVID expired",
                    TestChain.observeStatus(chain.server().observePort(), "/observe/health/ready"), is(503));

            chain.gatewayEndpoint.start();
            chain.serverEndpoint.start();
            long start = System.nanoTime();
            while (TestChain.observeStatus(chain.gateway.observePort(), "/observe/health/ready") != 204
                    || TestChain.observeStatus(chain.server().observePort(), "/observe/health/ready") != 204) {
                assertThat("ready again within 1 s of the Workload API's return", System.nanoTime() - start,
                        lessThan(Duration.ofSeconds(1).toNanos()));
                Thread.sleep(10);
            }
            TALLY.measured("ready_after_return_ms", Duration.ofNanos(System.nanoTime() - start).toMillis());
            try (RawHttps http = chain.raw(chain.caller(TestChain.EXTERNAL_ID))) {
                RawHttps.Reply reply = http.postEcho(BODY);
                assertThat(reply.body(), reply.status(), is(200));
            }
        }
    }

    /** Gateway settings for a gateway outside a {@link TestChain}. */
    private record TestChainConfig(WorkloadEndpoint endpoint) {
        dev.echochain.gateway.GatewayConfig gateway(int upstreamPort) throws IOException {
            return new dev.echochain.gateway.GatewayConfig("127.0.0.1", 0, 0, Duration.ofSeconds(1),
                    java.util.Set.of(io.spiffe.spiffeid.SpiffeId.parse(TestChain.EXTERNAL_ID)), "127.0.0.1",
                    upstreamPort, io.spiffe.spiffeid.SpiffeId.parse(TestChain.SERVER_ID), Duration.ofSeconds(1),
                    1024, new IdentityConfig(endpoint.address(), Duration.ofSeconds(30)));
        }
    }
}
