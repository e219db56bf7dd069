package dev.echochain.server;

import java.lang.System.Logger.Level;

import dev.echochain.identity.MtlsServer;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.WorkloadIdentity;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcConfig;
import io.helidon.webserver.grpc.GrpcRouting;

/** echo-server: the gRPC socket over mutual TLS and the plain-HTTP observe socket. */
public final class EchoServer extends MtlsServer {

    private static final System.Logger LOGGER = System.getLogger(EchoServer.class.getName());

    private EchoServer(WebServer server, PeerAuthorizer callers) {
        super(server, callers);
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
        WebServer server = configure(config.host(), config.port(), config.observePort(), config.shutdownGrace(),
                identity, callers)
                .maxTcpConnections(config.maxConnections())
                // Helidon's per-call gRPC metrics and its compression negotiation (a header lookup on every call)
                // took a third of echo-server's CPU under load in a profile; the service times its own calls
                .addProtocol(GrpcConfig.builder()
                        .enableMetrics(false)
                        .enableCompression(false)
                        .build())
                .addRouting(GrpcRouting.builder().service(new EchoService(identity, config.maxMessageBytes())))
                .build()
                .start();
        EchoServer echo = new EchoServer(server, callers);
        LOGGER.log(Level.INFO, "echo-server serving gRPC over mutual TLS on port {0,number,#}, observe on port "
                + "{1,number,#}; allowed callers: {2}; at most {3,number,#} connections (-1: no limit)", echo.port(),
                echo.observePort(), config.allowedCallers(), config.maxConnections());
        return echo;
    }
}
