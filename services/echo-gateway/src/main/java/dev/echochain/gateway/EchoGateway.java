package dev.echochain.gateway;

import java.lang.System.Logger.Level;

import dev.echochain.identity.Observe;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.ServerRuntime;
import dev.echochain.identity.SpiffeTls;
import dev.echochain.identity.WorkloadIdentity;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;

/** Assembles and starts echo-gateway: HTTPS over mutual TLS, the upstream gRPC client, and the observe socket. */
public final class EchoGateway implements ServerRuntime.Running {

    private static final System.Logger LOGGER = System.getLogger(EchoGateway.class.getName());

    private final WebServer server;
    private final PeerAuthorizer callers;
    private final UpstreamClient upstream;

    private EchoGateway(WebServer server, PeerAuthorizer callers, UpstreamClient upstream) {
        this.server = server;
        this.callers = callers;
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
        EchoHandler echo = new EchoHandler(identity, upstream, config.maxBodyBytes());

        WebServerConfig.Builder builder = WebServer.builder()
                .shutdownHook(false)
                .host(config.host())
                .port(config.port())
                .shutdownGracePeriod(config.shutdownGrace())
                .connectionOptions(options -> options.tcpNoDelay(true))
                .tls(SpiffeTls.server(identity, callers))
                .routing(routing(echo));
        Observe.addTo(builder, config.host(), config.observePort(), identity);
        WebServer server = builder.build().start();
        LOGGER.log(Level.INFO, "echo-gateway serving HTTPS over mutual TLS on port {0,number,#}, "
                + "observe on port {1,number,#}; "
                + "allowed callers: {2}", server.port(), server.port(Observe.SOCKET), config.allowedCallers());
        return new EchoGateway(server, callers, upstream);
    }

    static HttpRouting.Builder routing(EchoHandler echo) {
        return HttpRouting.builder()
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
     * The HTTPS port, useful when it was ephemeral.
     *
     * @return the bound port
     */
    public int port() {
        return server.port();
    }

    /**
     * The observe port, useful when it was ephemeral.
     *
     * @return the bound port
     */
    public int observePort() {
        return server.port(Observe.SOCKET);
    }

    /**
     * The authorizer guarding the HTTPS socket.
     *
     * @return the callers' authorizer
     */
    public PeerAuthorizer callers() {
        return callers;
    }

    /**
     * The gRPC client for echo-server.
     *
     * @return the upstream client
     */
    public UpstreamClient upstream() {
        return upstream;
    }

    /**
     * The underlying Helidon server.
     *
     * @return the web server
     */
    public WebServer webServer() {
        return server;
    }

    /** Stops the HTTPS and observe sockets, letting in-flight requests finish, then closes the upstream channel. */
    @Override
    public void stop() {
        server.stop();
        upstream.close();
    }
}
