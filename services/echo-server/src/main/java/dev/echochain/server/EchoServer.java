package dev.echochain.server;

import java.lang.System.Logger.Level;

import dev.echochain.identity.Observe;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.ServerRuntime;
import dev.echochain.identity.SpiffeTls;
import dev.echochain.identity.WorkloadIdentity;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.grpc.GrpcConfig;
import io.helidon.webserver.grpc.GrpcRouting;

/** Assembles and starts echo-server: the gRPC socket over mutual TLS and the plain-HTTP observe socket. */
public final class EchoServer implements ServerRuntime.Running {

    private static final System.Logger LOGGER = System.getLogger(EchoServer.class.getName());

    private final WebServer server;
    private final PeerAuthorizer callers;

    private EchoServer(WebServer server, PeerAuthorizer callers) {
        this.server = server;
        this.callers = callers;
    }

    /**
     * Starts echo-server. TLS handshakes fail until the identity holds its first SVID, and readiness says so.
     *
     * @param config   the settings
     * @param identity the server's workload identity
     * @return the running server
     */
    public static EchoServer start(EchoServerConfig config, WorkloadIdentity identity) {
        PeerAuthorizer callers = PeerAuthorizer.create("echo-server-callers", config.allowedCallers(), identity);
        WebServerConfig.Builder builder = WebServer.builder()
                .shutdownHook(false)
                .host(config.host())
                .port(config.port())
                .shutdownGracePeriod(config.shutdownGrace())
                .connectionOptions(options -> options.tcpNoDelay(true))
                .tls(SpiffeTls.server(identity, callers))
                .addProtocol(GrpcConfig.builder().enableMetrics(true).build())
                .addRouting(GrpcRouting.builder().service(new EchoService(identity, config.maxMessageBytes())));
        Observe.addTo(builder, config.host(), config.observePort(), identity);
        WebServer server = builder.build().start();
        LOGGER.log(Level.INFO, "echo-server serving gRPC over mutual TLS on port {0,number,#}, "
                + "observe on port {1,number,#}; "
                + "allowed callers: {2}", server.port(), server.port(Observe.SOCKET), config.allowedCallers());
        return new EchoServer(server, callers);
    }

    /**
     * The gRPC port, useful when it was ephemeral.
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
     * The authorizer guarding the gRPC socket, whose counters tell accepted and refused callers.
     *
     * @return the callers' authorizer
     */
    public PeerAuthorizer callers() {
        return callers;
    }

    /**
     * The underlying Helidon server.
     *
     * @return the web server
     */
    public WebServer webServer() {
        return server;
    }

    /** Stops both sockets, letting in-flight calls finish within the grace period. */
    @Override
    public void stop() {
        server.stop();
    }
}
