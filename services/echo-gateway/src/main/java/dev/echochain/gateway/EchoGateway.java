package dev.echochain.gateway;

import java.lang.System.Logger.Level;

import dev.echochain.identity.MtlsServer;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.WorkloadIdentity;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http2.Http2Config;

/** echo-gateway: HTTPS over mutual TLS, the upstream gRPC client, and the plain-HTTP observe socket. */
public final class EchoGateway extends MtlsServer {

    private static final System.Logger LOGGER = System.getLogger(EchoGateway.class.getName());

    private final UpstreamClient upstream;

    private EchoGateway(WebServer server, PeerAuthorizer callers, UpstreamClient upstream) {
        super(server, callers);
        this.upstream = upstream;
    }

    /**
     * Starts echo-gateway. TLS handshakes fail until the identity holds its first SVID, and readiness says so.
     *
     * @param config   the settings
     * @param identity the gateway's workload identity
     * @return the running gateway
     */
    public static EchoGateway start(GatewayConfig config, WorkloadIdentity identity) {
        PeerAuthorizer callers = PeerAuthorizer.create("echo-gateway-callers", config.allowedCallers(), identity);
        UpstreamClient upstream = UpstreamClient.create(config, identity);
        RequestMetrics metrics = new RequestMetrics();
        GatewayLimits limits = config.limits();
        EchoHandler echo = new EchoHandler(identity, upstream, config.maxBodyBytes(), limits.bodyTimeout(), metrics);
        WebServer server = configure(config.host(), config.port(), config.observePort(), config.shutdownGrace(),
                identity, callers, limits.handshakeTimeout())
                .maxTcpConnections(limits.maxConnections())
                // Helidon starts a virtual thread for every HTTP/2 stream before any filter runs, so the streams one
                // connection may open at once bound the work a single client can queue (Helidon's default: 8192)
                .addProtocol(Http2Config.builder().maxConcurrentStreams(limits.maxConcurrentStreams()).build())
                .errorHandling(errors -> errors.includeEntity(true))
                .directHandlers(handlers -> {
                    for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
                        handlers.addHandler(type, metrics);
                    }
                })
                .routing(routing(echo, metrics, limits.maxConcurrentRequests()))
                .build()
                .start();
        EchoGateway gateway = new EchoGateway(server, callers, upstream);
        LOGGER.log(Level.INFO, "echo-gateway serving HTTPS over mutual TLS on port {0,number,#}, observe on port "
                + "{1,number,#}; allowed callers: {2}; at most {3,number,#} connections, {4,number,#} requests at "
                + "once and {5,number,#} streams per HTTP/2 connection (-1: no limit)", gateway.port(),
                gateway.observePort(), config.allowedCallers(), limits.maxConnections(),
                limits.maxConcurrentRequests(), limits.maxConcurrentStreams());
        return gateway;
    }

    static HttpRouting.Builder routing(EchoHandler echo, RequestMetrics metrics, int maxConcurrentRequests) {
        HttpRouting.Builder routing = HttpRouting.builder().addFilter(metrics);
        if (maxConcurrentRequests != -1) {
            routing.addFilter(new ConcurrencyLimit(maxConcurrentRequests));
        }
        return routing
                .post("/echo", echo)
                .any("/echo", (request, response) -> {
                    response.header(HeaderNames.ALLOW, "POST");
                    JsonResponses.error(response, 405, "method " + request.prologue().method().text()
                            + " is not allowed on /echo: use POST");
                })
                .any((request, response) -> JsonResponses.error(response, 404,
                        "no resource at " + request.path().path() + ": the gateway serves POST /echo"))
                .error(Throwable.class, (request, response, error) -> {
                    LOGGER.log(Level.ERROR, "Failed to handle " + request.prologue().method().text() + " "
                            + request.path().path(), error);
                    JsonResponses.error(response, 500, "internal error; the gateway's log has the details");
                });
    }

    /**
     * The gRPC client for echo-server.
     *
     * @return the upstream client
     */
    public UpstreamClient upstream() {
        return upstream;
    }

    /** Stops the HTTPS and observe sockets, letting in-flight requests finish, then closes the upstream channel. */
    @Override
    public void stop() {
        super.stop();
        upstream.close();
    }
}
