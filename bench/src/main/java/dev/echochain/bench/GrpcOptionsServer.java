package dev.echochain.bench;

import dev.echochain.identity.MtlsServer;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.ServerRuntime;
import dev.echochain.server.EchoServerConfig;
import dev.echochain.server.EchoService;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcConfig;
import io.helidon.webserver.grpc.GrpcRouting;

/**
 * A benchmark-only experiment: echo-server's own service, TLS and settings, started exactly as echo-server starts
 * them but with Helidon's gRPC per-call metrics and message compression off. Comparing it with echo-server tells what
 * those two options cost. Reads the same environment as echo-server.
 */
public final class GrpcOptionsServer {

    private GrpcOptionsServer() {
    }

    /**
     * Runs the variant until SIGTERM.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        ServerRuntime.run("echo-server (gRPC metrics and compression off)", EchoServerConfig::create,
                EchoServerConfig::identity, (config, identity) -> {
                    PeerAuthorizer callers = PeerAuthorizer.create("echo-server-callers", config.allowedCallers(),
                            identity);
                    WebServer server = MtlsServer.configure(config.host(), config.port(), config.observePort(),
                                    config.shutdownGrace(), identity, callers)
                            .addProtocol(GrpcConfig.builder()
                                    .enableMetrics(false)
                                    .enableCompression(false)
                                    .build())
                            .addRouting(GrpcRouting.builder()
                                    .service(new EchoService(identity, config.maxMessageBytes())))
                            .build()
                            .start();
                    return server::stop;
                });
    }
}
