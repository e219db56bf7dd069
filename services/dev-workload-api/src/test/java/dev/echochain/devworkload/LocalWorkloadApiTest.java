package dev.echochain.devworkload;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import io.spiffe.bundle.x509bundle.X509BundleSet;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.svid.x509svid.X509SvidValidator;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.DefaultX509Source;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Source;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * java-spiffe's own Workload API client against {@link LocalWorkloadApi} on real Unix sockets.
 */
class LocalWorkloadApiTest {

    private static final String SERVER_ID = "spiffe://echo.local/ns/echo/sa/echo-server";
    private static final TrustDomain ECHO_LOCAL = TrustDomain.parse("echo.local");
    private static final Duration DELIVERY = Duration.ofSeconds(10);

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Path dir;
    private LocalWorkloadApi api;

    @BeforeEach
    void setUp() throws Exception {
        dir = TestDirs.create();
        api = LocalWorkloadApi.builder().trustDomain("echo.local").build();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable closeable : closeables.reversed()) {
            closeable.close();
        }
        if (api != null) {
            api.close();
        }
        TestDirs.delete(dir);
    }

    @Test
    @Timeout(30)
    void deliversSvidWithWorkloadIdThatVerifiesAgainstBundle() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("server.sock"));

        X509Source source = source(endpoint);
        X509Svid svid = source.getX509Svid();

        assertThat(svid.getSpiffeId().toString(), is(SERVER_ID));
        assertThat(svid.getLeaf().getSerialNumber(), is(endpoint.currentSvid().serial()));
        assertThat(source.getBundleForTrustDomain(ECHO_LOCAL).getX509Authorities(),
                   contains(api.ca().certificate()));
        // assert that the chain verifies against the bundle the same API delivered
        X509SvidValidator.verifyChain(svid.getChain(), source);
    }

    @Test
    @Timeout(30)
    void forcedRotationReachesClientWithNewSerial() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("server.sock"));
        X509Source source = source(endpoint);
        BigInteger first = serial(source);

        IssuedSvid rotated = endpoint.rotateSvid();

        assertThat("new serial", rotated.serial(), not(first));
        assertThat("client sees the rotated SVID within " + DELIVERY,
                   TestDirs.await(() -> serial(source).equals(rotated.serial()), DELIVERY), is(true));
    }

    @Test
    @Timeout(30)
    void rotatesSvidOnItsOwnAtHalfItsLifetime() throws Exception {
        api.close();
        api = LocalWorkloadApi.builder().svidTtl(Duration.ofSeconds(4)).build();
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("server.sock"));
        X509Source source = source(endpoint);
        IssuedSvid first = endpoint.currentSvid();

        assertThat("client gets a new SVID before the first one expires",
                   TestDirs.await(() -> !serial(source).equals(first.serial()), Duration.ofSeconds(4)), is(true));
        assertThat(source.getX509Svid().getLeaf().getNotAfter().toInstant(), greaterThan(first.notAfter()));
    }

    @Test
    @Timeout(30)
    void caRotationDeliversBothCasThenOnlyTheNewOne() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("server.sock"));
        X509Source source = source(endpoint);
        AtomicReference<X509BundleSet> watched = watchBundles(endpoint);
        X509Certificate oldCa = api.ca().certificate();

        X509Certificate newCa = api.rotateCa().certificate();

        assertThat("SVID stream carries both CAs", TestDirs.await(
                () -> authorities(source).equals(Set.of(oldCa, newCa)), DELIVERY), is(true));
        assertThat("bundle stream carries both CAs", TestDirs.await(
                () -> authorities(watched.get()).equals(Set.of(oldCa, newCa)), DELIVERY), is(true));
        assertThat("SVID is signed by the new CA",
                   source.getX509Svid().getLeaf().getIssuerX500Principal(), is(newCa.getSubjectX500Principal()));
        X509SvidValidator.verifyChain(source.getX509Svid().getChain(), source);

        api.retireOldCa();

        assertThat("SVID stream carries only the new CA", TestDirs.await(
                () -> authorities(source).equals(Set.of(newCa)), DELIVERY), is(true));
        assertThat("bundle stream carries only the new CA", TestDirs.await(
                () -> authorities(watched.get()).equals(Set.of(newCa)), DELIVERY), is(true));
        assertThat(api.bundle(), contains(newCa));
    }

    @Test
    @Timeout(60)
    void clientRecoversAfterSocketStopsAndStartsAgain() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("server.sock"));
        X509Source source = source(endpoint);
        assertThat(endpoint.awaitSvidWatchers(1, DELIVERY), is(true));

        endpoint.stop();
        assertThat("socket file is gone while stopped", Files.exists(endpoint.socket()), is(false));
        IssuedSvid rotated = endpoint.rotateSvid();
        endpoint.start();

        assertThat("client reconnects and sees the SVID rotated during the outage", TestDirs.await(
                () -> serial(source).equals(rotated.serial()), Duration.ofSeconds(40)), is(true));
    }

    @Test
    @Timeout(30)
    void servesEachWorkloadItsOwnIdentity() throws Exception {
        String gatewayId = "spiffe://echo.local/ns/echo/sa/echo-gateway";
        WorkloadEndpoint server = api.addWorkload(SERVER_ID, dir.resolve("s.sock"));
        WorkloadEndpoint gateway = api.addWorkload(gatewayId, dir.resolve("g.sock"));

        assertThat(source(server).getX509Svid().getSpiffeId().toString(), is(SERVER_ID));
        assertThat(source(gateway).getX509Svid().getSpiffeId().toString(), is(gatewayId));
    }

    @Test
    @Timeout(30)
    void closeDeletesSocketFilesAndRefusesNewWorkloads() throws Exception {
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("server.sock"));
        assertThat(Files.exists(endpoint.socket()), is(true));

        api.close();

        assertThat(Files.exists(endpoint.socket()), is(false));
        assertThrows(IllegalStateException.class, () -> api.addWorkload(SERVER_ID, dir.resolve("again.sock")));
    }

    @Test
    @Timeout(30)
    void refusesSocketPathOverTheUnixLimit() {
        Path tooLong = dir.resolve("x".repeat(WorkloadEndpoint.MAX_SOCKET_PATH_BYTES) + ".sock");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                                  () -> api.addWorkload(SERVER_ID, tooLong));
        assertThat(e.getMessage(), containsString("Unix socket limit of 107 bytes"));
    }

    @Test
    @Timeout(30)
    void refusesWorkloadOfAnotherTrustDomain() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> api.addWorkload(
                "spiffe://other.test/ns/echo/sa/echo-server", dir.resolve("server.sock")));
        assertThat(e.getMessage(), containsString("not in trust domain echo.local"));
    }

    @Test
    @Timeout(30)
    void keepsWrittenSvidFilesCurrentAcrossRotation() throws Exception {
        String traefikId = "spiffe://echo.local/ns/traefik/sa/traefik-external";
        SvidFiles files = api.writeSvidFiles(traefikId, dir.resolve("curl"));
        X509Svid before = X509Svid.load(files.svid(), files.key());
        assertThat(before.getSpiffeId().toString(), is(traefikId));

        api.rotateSvids();

        X509Svid after = X509Svid.load(files.svid(), files.key());
        assertThat(after.getLeaf().getSerialNumber(), not(before.getLeaf().getSerialNumber()));
    }

    private X509Source source(WorkloadEndpoint endpoint) throws Exception {
        DefaultX509Source source = DefaultX509Source.newSource(DefaultX509Source.X509SourceOptions.builder()
                .spiffeSocketPath(endpoint.address())
                .initTimeout(DELIVERY)
                .build());
        closeables.add(source);
        return source;
    }

    private AtomicReference<X509BundleSet> watchBundles(WorkloadEndpoint endpoint) throws Exception {
        WorkloadApiClient client = DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                .spiffeSocketPath(endpoint.address())
                .build());
        closeables.add(client);
        AtomicReference<X509BundleSet> latest = new AtomicReference<>();
        client.watchX509Bundles(new Watcher<>() {
            @Override
            public void onUpdate(X509BundleSet update) {
                latest.set(update);
            }

            @Override
            public void onError(Throwable error) {
                latest.set(null);
            }
        });
        assertThat("first bundle arrives", TestDirs.await(() -> latest.get() != null, DELIVERY), is(true));
        return latest;
    }

    private static BigInteger serial(X509Source source) {
        return source.getX509Svid().getLeaf().getSerialNumber();
    }

    private static Set<X509Certificate> authorities(X509Source source) throws Exception {
        return source.getBundleForTrustDomain(ECHO_LOCAL).getX509Authorities();
    }

    private static Set<X509Certificate> authorities(X509BundleSet set) throws Exception {
        return set.getBundleForTrustDomain(ECHO_LOCAL).getX509Authorities();
    }
}
