package dev.echochain.bench;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import dev.echochain.echo.v1.EchoGrpc;
import dev.echochain.echo.v1.EchoReply;
import dev.echochain.echo.v1.EchoRequest;
import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.PeerIds;
import dev.echochain.identity.SpiffeTls;
import dev.echochain.identity.WorkloadIdentity;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.stub.StreamObserver;
import io.spiffe.provider.SpiffeKeyManager;
import io.spiffe.spiffeid.SpiffeId;

/**
 * The benchmark's reference: a plain grpc-java Netty echo server with the same proto, the same SVID (read from
 * echo-server's Workload API socket) and the same caller allowlist as echo-server. Not part of the product.
 *
 * <p>Usage: {@code RefServer <port> mtls|plaintext [default|jdk]}; the TLS provider is Netty's default (BoringSSL,
 * bundled in grpc-netty-shaded) unless {@code jdk} is given. Reads {@code SPIFFE_ENDPOINT_SOCKET} and
 * {@code ECHO_ALLOWED_CALLERS}. Prints {@code ready} when serving and runs until SIGTERM.
 */
public final class RefServer {

    private static final Context.Key<String> CALLER = Context.key("caller");

    private RefServer() {
    }

    /**
     * Runs the reference server.
     *
     * @param args port, {@code mtls} or {@code plaintext}, and optionally the TLS provider
     * @throws Exception when it cannot start
     */
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        boolean mtls = "mtls".equals(args[1]);
        SslProvider provider = args.length > 2 && "jdk".equals(args[2]) ? SslProvider.JDK : null;

        WorkloadIdentity identity = WorkloadIdentity.start(new IdentityConfig(
                System.getenv("SPIFFE_ENDPOINT_SOCKET"), Duration.ofSeconds(30)));
        if (!identity.awaitSvid(Duration.ofSeconds(30))) {
            throw new IllegalStateException("no SVID from " + identity.endpoint());
        }

        Set<SpiffeId> callers = PeerAuthorizer.parseIds("ECHO_ALLOWED_CALLERS",
                java.util.List.of(System.getenv("ECHO_ALLOWED_CALLERS").split(",")));
        Server server = start(port, mtls, provider, identity, callers);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            try {
                server.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            identity.close();
        }));
        System.out.println("ready " + (mtls ? "mtls" : "plaintext") + " on " + server.getPort());
        server.awaitTermination();
    }

    /**
     * Starts the reference server on loopback.
     *
     * @param port     the port, 0 for an ephemeral one
     * @param mtls     mutual TLS when true, plaintext otherwise
     * @param provider Netty's TLS provider, null for its default (BoringSSL when available)
     * @param identity the server's SVID source; it must already hold an SVID
     * @param callers  the SPIFFE IDs that may call
     * @return the started server
     * @throws java.io.IOException when the port cannot be bound
     */
    public static Server start(int port, boolean mtls, SslProvider provider, WorkloadIdentity identity,
                               Set<SpiffeId> callers) throws java.io.IOException {
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port));
        if (mtls) {
            PeerAuthorizer authorizer = PeerAuthorizer.create("ref-callers", callers, identity);
            SslContextBuilder tls = SslContextBuilder.forServer(new SpiffeKeyManager(identity))
                    .trustManager(authorizer)
                    .clientAuth(ClientAuth.REQUIRE)
                    .protocols(SpiffeTls.PROTOCOL);
            builder.sslContext((provider == null ? GrpcSslContexts.configure(tls)
                    : GrpcSslContexts.configure(tls, provider)).build());
        }
        String serverId = identity.getX509Svid().getSpiffeId().toString();
        return builder
                .addService(ServerInterceptors.intercept(new Echo(serverId), new CallerInterceptor()))
                .build()
                .start();
    }

    /** Puts the caller's SPIFFE ID from the TLS session into the call's context, as echo-server does per call. */
    private static final class CallerInterceptor implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                           ServerCallHandler<Q, R> next) {
            SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            String caller = "";
            if (session != null) {
                try {
                    caller = PeerIds.fromChain(session.getPeerCertificates()).map(SpiffeId::toString).orElse("");
                } catch (SSLPeerUnverifiedException e) {
                    call.close(Status.UNAUTHENTICATED.withDescription("no client certificate"), new Metadata());
                    return new ServerCall.Listener<>() {
                    };
                }
            }
            return Contexts.interceptCall(Context.current().withValue(CALLER, caller), call, headers, next);
        }
    }

    /** The echo service: the message back with both identities. */
    private static final class Echo extends EchoGrpc.EchoImplBase {
        private final String serverId;

        Echo(String serverId) {
            this.serverId = serverId;
        }

        @Override
        public void echo(EchoRequest request, StreamObserver<EchoReply> response) {
            response.onNext(EchoReply.newBuilder()
                    .setMessage(request.getMessage())
                    .setServerId(serverId)
                    .setCallerId(CALLER.get())
                    .build());
            response.onCompleted();
        }
    }
}
