package dev.echochain.gateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

import dev.echochain.devworkload.IssuedSvid;
import dev.echochain.devworkload.LocalWorkloadApi;
import dev.echochain.devworkload.WorkloadEndpoint;
import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.WorkloadIdentity;
import dev.echochain.server.EchoServer;
import dev.echochain.server.EchoServerConfig;
import io.spiffe.bundle.BundleSource;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.provider.SpiffeTrustManager;
import io.spiffe.spiffeid.SpiffeId;

/**
 * The whole echo chain on loopback for a test: a local Workload API on Unix sockets, echo-server, echo-gateway, and
 * HTTPS clients that present SVIDs the way traefik does.
 */
final class Chain implements AutoCloseable {

    static final String TRUST_DOMAIN = "echo.local";
    static final String SERVER_ID = "spiffe://echo.local/ns/echo/sa/echo-server";
    static final String GATEWAY_ID = "spiffe://echo.local/ns/echo/sa/echo-gateway";
    static final String TRAEFIK_EXTERNAL_ID = "spiffe://echo.local/ns/traefik/sa/traefik-external";
    static final String TRAEFIK_INTERNAL_ID = "spiffe://echo.local/ns/traefik/sa/traefik-internal";

    final Path dir;
    final LocalWorkloadApi api;
    final WorkloadEndpoint serverEndpoint;
    final WorkloadEndpoint gatewayEndpoint;
    final WorkloadIdentity serverIdentity;
    final WorkloadIdentity gatewayIdentity;
    final EchoServer server;
    final EchoGateway gateway;

    private Chain(Path dir, LocalWorkloadApi api, Duration deadline, String upstreamId) throws InterruptedException {
        this.dir = dir;
        this.api = api;
        this.serverEndpoint = api.addWorkload(SERVER_ID, dir.resolve("s.sock"));
        this.gatewayEndpoint = api.addWorkload(GATEWAY_ID, dir.resolve("g.sock"));
        this.serverIdentity = identity(serverEndpoint);
        this.gatewayIdentity = identity(gatewayEndpoint);
        this.server = EchoServer.start(new EchoServerConfig("127.0.0.1", 0, 0, Duration.ofSeconds(5),
                Set.of(SpiffeId.parse(GATEWAY_ID)), 65536, identityConfig(serverEndpoint)), serverIdentity);
        this.gateway = EchoGateway.start(gatewayConfig(server.port(), upstreamId, deadline), gatewayIdentity);
    }

    /** Starts the chain with a one-hour SVID TTL and the production-like two-second deadline. */
    static Chain start() throws IOException, InterruptedException {
        return start(Duration.ofHours(1), Duration.ofSeconds(2), SERVER_ID);
    }

    static Chain start(Duration svidTtl, Duration deadline, String upstreamId) throws IOException,
            InterruptedException {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "ec-");
        LocalWorkloadApi api = LocalWorkloadApi.builder().trustDomain(TRUST_DOMAIN).svidTtl(svidTtl).build();
        return new Chain(dir, api, deadline, upstreamId);
    }

    static WorkloadIdentity identity(WorkloadEndpoint endpoint) throws InterruptedException {
        WorkloadIdentity identity = WorkloadIdentity.start(identityConfig(endpoint));
        if (!identity.awaitSvid(Duration.ofSeconds(10))) {
            throw new IllegalStateException("no SVID from " + endpoint);
        }
        return identity;
    }

    static IdentityConfig identityConfig(WorkloadEndpoint endpoint) {
        return new IdentityConfig(endpoint.address(), Duration.ofSeconds(10));
    }

    static GatewayConfig gatewayConfig(int upstreamPort, String upstreamId, Duration deadline) {
        return new GatewayConfig("127.0.0.1", 0, 0, Duration.ofSeconds(5),
                Set.of(SpiffeId.parse(TRAEFIK_EXTERNAL_ID), SpiffeId.parse(TRAEFIK_INTERNAL_ID)),
                "127.0.0.1", upstreamPort, SpiffeId.parse(upstreamId), deadline, 131072,
                new IdentityConfig("unix:/unused", Duration.ofSeconds(1)));
    }

    URI echoUri() {
        return URI.create("https://127.0.0.1:" + gateway.port() + "/echo");
    }

    URI observe(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** An HTTPS client presenting a fresh SVID for the given ID, expecting the gateway's exact ID. */
    HttpClient client(String spiffeId) {
        return client(api.issue(spiffeId));
    }

    HttpClient client(IssuedSvid svid) {
        return HttpClient.newBuilder()
                .sslContext(sslContext(svid, GATEWAY_ID))
                .sslParameters(tls13())
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    static SSLParameters tls13() {
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3"});
        return parameters;
    }

    /** A client TLS context: presents the SVID (or nothing when null), accepts only the expected server ID. */
    SSLContext sslContext(IssuedSvid svid, String expectedServerId) {
        BundleSource<X509Bundle> bundles = trustDomain -> new X509Bundle(trustDomain, new HashSet<>(api.bundle()));
        try {
            KeyManager[] keys = null;
            if (svid != null) {
                char[] password = "test".toCharArray();
                KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                factory.init(svid.keyStore(password), password);
                keys = factory.getKeyManagers();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, new TrustManager[] {
                new SpiffeTrustManager(bundles, () -> Set.of(SpiffeId.parse(expectedServerId)))}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static HttpResponse<String> postJson(HttpClient client, URI uri, String body) throws IOException,
            InterruptedException {
        return client.send(HttpRequest.newBuilder(uri)
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(10))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        try (HttpClient plain = HttpClient.newHttpClient()) {
            return plain.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    /** The serial of the certificate a server presents on a fresh TLS connection. */
    X509Certificate presentedCertificate(int port, IssuedSvid client, String expectedServerId) throws IOException {
        SSLContext context = sslContext(client, expectedServerId);
        try (var socket = (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSSLParameters(tls13());
            socket.setSoTimeout(5000);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    @Override
    public void close() throws IOException {
        gateway.stop();
        server.stop();
        gatewayIdentity.close();
        serverIdentity.close();
        api.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
