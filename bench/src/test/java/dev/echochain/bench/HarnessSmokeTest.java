package dev.echochain.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.WorkloadIdentity;
import io.grpc.Server;
import io.spiffe.spiffeid.SpiffeId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A smoke check of the harness for {@code ./mvnw verify}: the load generator and the handshake client against the
 * grpc-java reference server, in process, over real mutual TLS with SVIDs from a real Workload API socket. It checks
 * that replies are validated and counted, never how fast anything is.
 */
@Timeout(60)
class HarnessSmokeTest {

    private Path dir;
    private Identities ids;
    private WorkloadIdentity identity;
    private Server server;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "ec-bt");
        ids = new Identities(dir);
        identity = WorkloadIdentity.start(new IdentityConfig(ids.server.address(), Duration.ofSeconds(10)));
        assertThat("the server identity gets its SVID", identity.awaitSvid(Duration.ofSeconds(10)), is(true));
        server = RefServer.start(0, true, null, identity, Set.of(SpiffeId.parse(Identities.CLIENT_ID)));
    }

    @AfterEach
    void stop() throws Exception {
        server.shutdownNow();
        identity.close();
        ids.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    @Test
    void closedLoopCountsOnlyValidatedReplies() throws Exception {
        try (GrpcCaller caller = GrpcCaller.mtls(ids, server.getPort(), Identities.SERVER_ID)) {
            Window window = Driver.closed("grpc-java", caller, 4, Duration.ofMillis(500));

            assertThat("no reply failed validation: " + window.firstError(), window.failed(), is(0L));
            assertThat("replies were counted", window.ok(), greaterThan(0L));
            assertThat("every counted reply has a latency", window.latency().getTotalCount(), is(window.ok()));
        }
    }

    @Test
    void countsRepliesFromTheWrongServerIdentityAsFailures() throws Exception {
        try (GrpcCaller caller = GrpcCaller.mtls(ids, server.getPort(), Identities.GATEWAY_ID)) {
            Window window = Driver.closed("impostor", caller, 1, Duration.ofMillis(200));

            assertThat("nothing counts from a server with another SPIFFE ID", window.ok(), is(0L));
            assertThat("the refusal is reported", window.failed(), greaterThan(0L));
        }
    }

    @Test
    void newConnectionSeesTheServersCurrentSvid() throws Exception {
        var presented = Handshakes.connect(ids, server.getPort(), Identities.SERVER_ID);

        assertThat("the handshake ends with the SVID the Workload API handed out", presented.getSerialNumber(),
                is(ids.server.currentSvid().serial()));
    }
}
