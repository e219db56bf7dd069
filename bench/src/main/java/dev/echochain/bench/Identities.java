package dev.echochain.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import dev.echochain.devworkload.IssuedSvid;
import dev.echochain.devworkload.LocalWorkloadApi;
import dev.echochain.devworkload.SvidFiles;
import dev.echochain.devworkload.WorkloadEndpoint;
import io.spiffe.bundle.BundleSource;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.provider.SpiffeTrustManager;
import io.spiffe.spiffeid.SpiffeId;

/**
 * Every SVID of a run, from one in-process Workload API: echo-server's socket (shared by the grpc-java reference
 * server, so both present the same SVID), the gateway's socket, and a static SVID for the load generator.
 */
final class Identities implements AutoCloseable {

    static final String SERVER_ID = "spiffe://echo.local/ns/echo/sa/echo-server";
    static final String GATEWAY_ID = "spiffe://echo.local/ns/echo/sa/echo-gateway";
    static final String CLIENT_ID = "spiffe://echo.local/ns/bench/sa/load";

    final Path dir;
    final LocalWorkloadApi api;
    final WorkloadEndpoint server;
    final WorkloadEndpoint gateway;
    final IssuedSvid client;
    private final KeyManager[] clientKeys;

    Identities(Path dir) throws GeneralSecurityException {
        this.dir = dir;
        // long enough that no SVID rotates by itself during a run; rotation is driven by the rotation section
        this.api = LocalWorkloadApi.builder().trustDomain("echo.local").svidTtl(Duration.ofHours(6)).build();
        this.server = api.addWorkload(SERVER_ID, dir.resolve("s.sock"));
        this.gateway = api.addWorkload(GATEWAY_ID, dir.resolve("g.sock"));
        this.client = api.issue(CLIENT_ID);
        char[] password = "bench".toCharArray();
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        try {
            keys.init(client.keyStore(password), password);
        } catch (java.security.KeyStoreException | java.security.UnrecoverableKeyException e) {
            throw new IllegalStateException("Failed to load the load generator's SVID", e);
        }
        this.clientKeys = keys.getKeyManagers();
    }

    KeyManager[] clientKeys() {
        return clientKeys;
    }

    /** A trust manager that accepts only a server presenting exactly {@code expectedId} from the current bundle. */
    X509TrustManager trustOnly(String expectedId) {
        BundleSource<X509Bundle> bundles = trustDomain -> new X509Bundle(trustDomain, new HashSet<>(api.bundle()));
        return new SpiffeTrustManager(bundles, () -> Set.of(SpiffeId.parse(expectedId)));
    }

    /** A fresh client context: a new one per connection means no session can be resumed. */
    SSLContext clientContext(String expectedId) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(clientKeys, new TrustManager[] {trustOnly(expectedId)}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Failed to build the load generator's TLS context", e);
        }
    }

    /** Writes echo-server's current SVID, key and bundle as PEM files, for nginx. */
    SvidFiles serverPem(Path target) throws java.io.IOException {
        Files.createDirectories(target);
        return server.currentSvid().writePem(target, api.bundle());
    }

    @Override
    public void close() {
        api.close();
    }
}
