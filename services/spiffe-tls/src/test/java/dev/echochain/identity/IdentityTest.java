package dev.echochain.identity;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.arrayContaining;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import javax.net.ssl.SSLParameters;

import dev.echochain.devworkload.LocalWorkloadApi;
import dev.echochain.devworkload.WorkloadEndpoint;
import io.helidon.common.tls.Tls;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.spiffe.spiffeid.SpiffeId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The identity source against a real Workload API peer on a Unix socket, and the TLS settings built from it. */
@Timeout(30)
class IdentityTest {

    private static final String ID = "spiffe://echo.local/ns/echo/sa/echo-server";

    private Path dir;
    private LocalWorkloadApi api;

    @BeforeEach
    void start() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "id-");
        api = LocalWorkloadApi.builder().trustDomain("echo.local").svidTtl(Duration.ofHours(1)).build();
    }

    @AfterEach
    void stop() throws IOException {
        api.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    @Test
    void waitsForAWorkloadApiThatAppearsLate() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(ID, dir.resolve("a.sock"));
        endpoint.stop();
        try (WorkloadIdentity identity = WorkloadIdentity.start(config(endpoint))) {
            assertThat("no SVID while the socket is absent", identity.awaitSvid(Duration.ofMillis(300)), is(false));
            assertThat(identity.hasValidSvid(), is(false));
            assertThrows(IllegalStateException.class, identity::getX509Svid);

            endpoint.start();

            assertThat(identity.awaitSvid(Duration.ofSeconds(2)), is(true));
            assertThat(identity.getX509Svid().getSpiffeId().toString(), is(ID));
            assertThat(identity.hasValidSvid(), is(true));
        }
    }

    @Test
    void followsRotationsPushedByTheWorkloadApi() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(ID, dir.resolve("r.sock"));
        try (WorkloadIdentity identity = WorkloadIdentity.start(config(endpoint))) {
            assertThat(identity.awaitSvid(Duration.ofSeconds(5)), is(true));
            long before = identity.rotations();

            endpoint.rotateSvid();

            long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (identity.rotations() == before && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(identity.rotations(), is(before + 1));
            assertThat(identity.getX509Svid().getLeaf().getSerialNumber(), is(endpoint.currentSvid().serial()));
        }
    }

    @Test
    void svidIsNoLongerValidOnceItExpiresWithoutRotation() throws Exception {
        LocalWorkloadApi shortLived = LocalWorkloadApi.builder()
                .trustDomain("echo.local")
                .svidTtl(Duration.ofSeconds(3))
                .build();
        WorkloadEndpoint endpoint = shortLived.addWorkload(ID, dir.resolve("e.sock"));
        try (WorkloadIdentity identity = WorkloadIdentity.start(config(endpoint))) {
            assertThat(identity.awaitSvid(Duration.ofSeconds(5)), is(true));
            shortLived.close();

            long deadline = System.nanoTime() + Duration.ofSeconds(6).toNanos();
            while (identity.hasValidSvid() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat("valid after the three-second TTL ran out", identity.hasValidSvid(), is(false));
            assertThat(identity.secondsToExpiry() < 0, is(true));
        } finally {
            shortLived.close();
        }
    }

    @Test
    void serverTlsOffersOnlyTls13AndRequiresClientCertificates() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(ID, dir.resolve("t.sock"));
        try (WorkloadIdentity identity = WorkloadIdentity.start(config(endpoint))) {
            PeerAuthorizer callers = PeerAuthorizer.create("test", Set.of(SpiffeId.parse(ID)), identity);

            Tls tls = SpiffeTls.server(identity, callers);
            SSLParameters parameters = tls.sslParameters();

            assertThat(parameters.getNeedClientAuth(), is(true));
            assertThat(parameters.getProtocols(), arrayContaining("TLSv1.3"));
            assertThat(tls.sslContext().getProtocol(), is("TLS"));
        }
    }

    @Test
    void configNamesTheMissingWorkloadApiVariable() {
        Config empty = Config.just(ConfigSources.create(Map.of("spiffe.init.timeout", "PT5S")));

        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> IdentityConfig.create(empty.get("spiffe")));

        assertThat(error.getMessage(), containsString("SPIFFE_ENDPOINT_SOCKET"));
    }

    @Test
    void configRefusesAnAddressThatIsNotAUnixSocket() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> new IdentityConfig("/run/agent.sock", Duration.ofSeconds(1)));

        assertThat(error.getMessage(), containsString("unix:///absolute/path"));
    }

    @Test
    void allowlistErrorsNameTheSettingAndTheBadValue() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PeerAuthorizer.parseIds("echo.allowed.callers", List.of("spiffe://echo.local/ok,not-an-id")));

        assertThat(error.getMessage(), containsString("echo.allowed.callers"));
        assertThat(error.getMessage(), containsString("not-an-id"));
    }

    @Test
    void allowlistSplitsCommaSeparatedIds() {
        Set<SpiffeId> ids = PeerAuthorizer.parseIds("k", List.of("spiffe://a.test/x, spiffe://a.test/y"));

        assertThat(ids, is(Set.of(SpiffeId.parse("spiffe://a.test/x"), SpiffeId.parse("spiffe://a.test/y"))));
    }

    @Test
    void emptyAllowlistIsRefused() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PeerAuthorizer.parseIds("gateway.allowed.callers", List.of(" ")));

        assertThat(error.getMessage(), containsString("gateway.allowed.callers is empty"));
    }

    private static IdentityConfig config(WorkloadEndpoint endpoint) {
        return new IdentityConfig(endpoint.address(), Duration.ofSeconds(5));
    }
}
