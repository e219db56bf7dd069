package dev.echochain.identity;

import java.time.Duration;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;

/**
 * A Helidon server with one mutual-TLS socket guarded by a {@link PeerAuthorizer}, and the plain-HTTP observe socket.
 * echo-server and echo-gateway are both built on it.
 */
public class MtlsServer implements ServerRuntime.Running {

    private final WebServer server;
    private final PeerAuthorizer callers;

    /**
     * Wraps a started server.
     *
     * @param server  the started server
     * @param callers the authorizer of its mutual-TLS socket
     */
    protected MtlsServer(WebServer server, PeerAuthorizer callers) {
        this.server = server;
        this.callers = callers;
    }

    /**
     * Starts a server configuration with the settings every mutual-TLS service shares: TLS 1.3 with client
     * certificates required and checked by {@code callers}, {@code tcpNoDelay}, a drain period on stop, no JVM
     * shutdown hook of Helidon's own (see {@link ServerRuntime}), and the observe socket.
     *
     * @param host        the address to bind both sockets to
     * @param port        the mutual-TLS port, 0 for an ephemeral one
     * @param observePort the observe port, 0 for an ephemeral one
     * @param grace       how long in-flight requests may finish on stop
     * @param identity    the service's workload identity
     * @param callers     the SPIFFE IDs that may connect
     * @return a builder to add routing to
     */
    public static WebServerConfig.Builder configure(String host,
                                                    int port,
                                                    int observePort,
                                                    Duration grace,
                                                    WorkloadIdentity identity,
                                                    PeerAuthorizer callers) {
        return configure(host, port, observePort, grace, identity, callers, SpiffeTls.DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /**
     * As {@link #configure(String, int, int, Duration, WorkloadIdentity, PeerAuthorizer)}, with a handshake timeout of
     * the service's own: a client that has not completed its TLS handshake by then loses its connection.
     *
     * @param host             the address to bind both sockets to
     * @param port             the mutual-TLS port, 0 for an ephemeral one
     * @param observePort      the observe port, 0 for an ephemeral one
     * @param grace            how long in-flight requests may finish on stop
     * @param identity         the service's workload identity
     * @param callers          the SPIFFE IDs that may connect
     * @param handshakeTimeout how long a client may take to complete its TLS handshake
     * @return a builder to add routing to
     */
    public static WebServerConfig.Builder configure(String host,
                                                    int port,
                                                    int observePort,
                                                    Duration grace,
                                                    WorkloadIdentity identity,
                                                    PeerAuthorizer callers,
                                                    Duration handshakeTimeout) {
        WebServerConfig.Builder builder = WebServer.builder()
                .shutdownHook(false)
                .host(host)
                .port(port)
                .shutdownGracePeriod(grace)
                .connectionOptions(options -> options.tcpNoDelay(true))
                .tls(SpiffeTls.server(identity, callers, handshakeTimeout));
        Observe.addTo(builder, host, observePort, identity);
        return builder;
    }

    /**
     * The mutual-TLS port, useful when it was ephemeral.
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
     * The authorizer guarding the mutual-TLS socket, whose counters tell accepted and refused callers.
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

    /** Stops both sockets, letting in-flight requests finish within the grace period. */
    @Override
    public void stop() {
        server.stop();
    }
}
