package dev.echochain.reliability;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import dev.echochain.devworkload.IssuedSvid;
import dev.echochain.devworkload.LocalWorkloadApi;
import dev.echochain.devworkload.WorkloadEndpoint;
import dev.echochain.gateway.EchoGateway;
import dev.echochain.gateway.GatewayConfig;
import dev.echochain.gateway.GatewayLimits;
import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.WorkloadIdentity;
import dev.echochain.server.EchoServer;
import dev.echochain.server.EchoServerConfig;
import io.spiffe.spiffeid.SpiffeId;

/**
 * The echo chain on loopback, built for fault injection: a local Workload API whose sockets can vanish, an
 * echo-server that can be stopped and started again on its port, an optional {@link FaultLink} between gateway and
 * echo-server, and gateway limits chosen by the test.
 */
final class TestChain implements AutoCloseable {

    static final String SERVER_ID = "spiffe://echo.local/ns/echo/sa/echo-server";
    static final String GATEWAY_ID = "spiffe://echo.local/ns/echo/sa/echo-gateway";
    static final String EXTERNAL_ID = "spiffe://echo.local/ns/traefik/sa/traefik-external";
    static final String INTERNAL_ID = "spiffe://echo.local/ns/traefik/sa/traefik-internal";

    /**
     * What the test wants of the chain.
     *
     * @param svidTtl              lifetime of every SVID; the Workload API rotates them at half of it
     * @param deadline             the gateway's deadline for echo-server
     * @param limits               the gateway's connection, concurrency and body-time limits
     * @param faultLink            whether the gateway reaches echo-server through a {@link FaultLink}
     * @param serverMaxConnections echo-server's {@code server.max.connections}
     */
    record Setup(Duration svidTtl, Duration deadline, GatewayLimits limits, boolean faultLink,
                 int serverMaxConnections) {
        static Setup defaults() {
            return new Setup(Duration.ofHours(1), Duration.ofSeconds(2), GatewayLimits.DEFAULT, false,
                    EchoServerConfig.DEFAULT_MAX_CONNECTIONS);
        }

        Setup svidTtl(Duration ttl) {
            return new Setup(ttl, deadline, limits, faultLink, serverMaxConnections);
        }

        Setup deadline(Duration value) {
            return new Setup(svidTtl, value, limits, faultLink, serverMaxConnections);
        }

        Setup limits(GatewayLimits value) {
            return new Setup(svidTtl, deadline, value, faultLink, serverMaxConnections);
        }

        Setup withFaultLink() {
            return new Setup(svidTtl, deadline, limits, true, serverMaxConnections);
        }

        Setup serverMaxConnections(int value) {
            return new Setup(svidTtl, deadline, limits, faultLink, value);
        }
    }

    final Path dir;
    final LocalWorkloadApi api;
    final WorkloadEndpoint serverEndpoint;
    final WorkloadEndpoint gatewayEndpoint;
    final WorkloadIdentity serverIdentity;
    final WorkloadIdentity gatewayIdentity;
    final FaultLink link;
    final EchoGateway gateway;
    private final int serverPort;
    private final int serverMaxConnections;
    private volatile EchoServer server;

    private TestChain(Setup setup) throws IOException, InterruptedException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "ec-");
        api = LocalWorkloadApi.builder().trustDomain("echo.local").svidTtl(setup.svidTtl()).build();
        serverEndpoint = api.addWorkload(SERVER_ID, dir.resolve("s.sock"));
        gatewayEndpoint = api.addWorkload(GATEWAY_ID, dir.resolve("g.sock"));
        serverIdentity = awaitIdentity(serverEndpoint);
        gatewayIdentity = awaitIdentity(gatewayEndpoint);
        serverMaxConnections = setup.serverMaxConnections();
        server = EchoServer.start(serverConfig(0), serverIdentity);
        serverPort = server.port();
        link = setup.faultLink() ? FaultLink.start(serverPort) : null;
        gateway = EchoGateway.start(gatewayConfig(link == null ? serverPort : link.port(), SERVER_ID,
                setup.deadline()).withLimits(setup.limits()), gatewayIdentity);
    }

    /** Gateway settings on ephemeral ports, calling echo-server at a port and expecting an ID. */
    GatewayConfig gatewayConfig(int upstreamPort, String upstreamId, Duration deadline) {
        return new GatewayConfig("127.0.0.1", 0, 0, Duration.ofSeconds(5),
                Set.of(SpiffeId.parse(EXTERNAL_ID), SpiffeId.parse(INTERNAL_ID)), "127.0.0.1", upstreamPort,
                SpiffeId.parse(upstreamId), deadline, 131072,
                new IdentityConfig(gatewayEndpoint.address(), Duration.ofSeconds(5)));
    }

    int serverPort() {
        return serverPort;
    }

    static TestChain start(Setup setup) throws IOException, InterruptedException {
        return new TestChain(setup);
    }

    static WorkloadIdentity awaitIdentity(WorkloadEndpoint endpoint) throws InterruptedException {
        WorkloadIdentity identity = WorkloadIdentity.start(new IdentityConfig(endpoint.address(),
                Duration.ofSeconds(5)));
        if (!identity.awaitSvid(Duration.ofSeconds(10))) {
            identity.close();
            throw new IllegalStateException("No SVID arrived from " + endpoint.address());
        }
        return identity;
    }

    private EchoServerConfig serverConfig(int port) {
        return new EchoServerConfig("127.0.0.1", port, 0, Duration.ofSeconds(5),
                Set.of(SpiffeId.parse(GATEWAY_ID)), 65536,
                new IdentityConfig(serverEndpoint.address(), Duration.ofSeconds(5)))
                .withMaxConnections(serverMaxConnections);
    }

    EchoServer server() {
        return server;
    }

    /** Stops echo-server, as a crash or a redeploy would. */
    void stopServer() {
        server.stop();
    }

    /** Starts echo-server again on the port it had. */
    void restartServer() {
        server = EchoServer.start(serverConfig(serverPort), serverIdentity);
    }

    /** A caller that presents a fresh SVID of the given ID and expects the gateway's ID. */
    SSLContext caller(String spiffeId) {
        return caller(api.issue(spiffeId));
    }

    SSLContext caller(IssuedSvid svid) {
        return Peers.context(svid, api::bundle, GATEWAY_ID);
    }

    RawHttps raw(SSLContext caller) throws IOException {
        return RawHttps.open(caller, gateway.port(), 5000);
    }

    HttpClient httpClient(SSLContext caller) {
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3"});
        return HttpClient.newBuilder()
                .sslContext(caller)
                .sslParameters(parameters)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    URI echoUri() {
        return URI.create("https://127.0.0.1:" + gateway.port() + "/echo");
    }

    static HttpResponse<String> post(HttpClient client, URI uri, String json) throws IOException,
            InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri)
                .POST(HttpRequest.BodyPublishers.ofByteArray(json.getBytes(StandardCharsets.UTF_8)))
                .setHeader("Content-Type", "application/json; charset=utf-8")
                .timeout(Duration.ofSeconds(10))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** The status of a plain-HTTP GET on an observe socket. */
    static int observeStatus(int port, String path) throws IOException, InterruptedException {
        return observeGet(port, path).statusCode();
    }

    static HttpResponse<String> observeGet(int port, String path) throws IOException, InterruptedException {
        try (HttpClient plain = HttpClient.newHttpClient()) {
            return plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    /**
     * Sums a counter in the Prometheus text of an observe socket over every series whose labels contain all the
     * given {@code name="value"} pairs.
     */
    static double metric(int observePort, String name, String... labels) throws IOException, InterruptedException {
        String text = observeGet(observePort, "/observe/metrics").body();
        Pattern series = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? ([0-9.eE+-]+)$",
                Pattern.MULTILINE);
        Matcher matcher = series.matcher(text);
        double sum = 0;
        while (matcher.find()) {
            String found = matcher.group(1) == null ? "" : matcher.group(1);
            boolean all = true;
            for (String label : labels) {
                all &= found.contains(label);
            }
            if (all) {
                sum += Double.parseDouble(matcher.group(2));
            }
        }
        return sum;
    }

    /** Counts gateway answers with one HTTP status in its {@code gateway.requests} metric. */
    double gatewayAnswers(int status) throws IOException, InterruptedException {
        return metric(gateway.observePort(), "gateway_requests_seconds_count", "status=\"" + status + "\"");
    }

    @Override
    public void close() throws IOException {
        gateway.stop();
        server.stop();
        if (link != null) {
            link.close();
        }
        List.of(gatewayIdentity, serverIdentity).forEach(WorkloadIdentity::close);
        api.close();
        deleteTree(dir);
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path path : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
