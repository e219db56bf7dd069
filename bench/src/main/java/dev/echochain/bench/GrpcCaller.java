package dev.echochain.bench;

import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import dev.echochain.echo.v1.EchoGrpc;
import dev.echochain.echo.v1.EchoReply;
import dev.echochain.echo.v1.EchoRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;

/**
 * Calls echo.v1.Echo/Echo on one HTTP/2 connection with grpc-java (Netty, BoringSSL), presenting the load
 * generator's SVID and accepting only the expected server SPIFFE ID. Every reply is checked: status OK, the message
 * unchanged, the server's and the caller's SPIFFE IDs as expected.
 */
final class GrpcCaller implements Caller {

    static final String MESSAGE = "echo-chain benchmark";

    private final ManagedChannel channel;
    private final EchoGrpc.EchoStub stub;
    private final EchoRequest request = EchoRequest.newBuilder().setMessage(MESSAGE).build();
    private final String serverId;
    private final String callerId;

    private GrpcCaller(ManagedChannel channel, String serverId, String callerId) {
        this.channel = channel;
        this.stub = EchoGrpc.newStub(channel);
        this.serverId = serverId;
        this.callerId = callerId;
    }

    /** Over mutual TLS, checking the server's SPIFFE ID at the handshake and in every reply. */
    static GrpcCaller mtls(Identities ids, int port, String serverId) {
        try {
            var tls = GrpcSslContexts.forClient()
                    .keyManager(ids.client.privateKey(), ids.client.chain().toArray(new java.security.cert
                            .X509Certificate[0]))
                    .trustManager(ids.trustOnly(serverId))
                    .protocols("TLSv1.3")
                    .build();
            return new GrpcCaller(NettyChannelBuilder.forAddress("127.0.0.1", port)
                    .sslContext(tls)
                    .directExecutor()
                    .build(), serverId, Identities.CLIENT_ID);
        } catch (SSLException e) {
            throw new IllegalStateException("Failed to build the gRPC client's TLS context", e);
        }
    }

    /** Over plaintext; replies carry an empty caller ID. */
    static GrpcCaller plaintext(int port, String serverId) {
        return new GrpcCaller(NettyChannelBuilder.forAddress("127.0.0.1", port)
                .usePlaintext()
                .directExecutor()
                .build(), serverId, "");
    }

    @Override
    public void call(Outcome outcome) {
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).echo(request, new StreamObserver<>() {
            private EchoReply reply;

            @Override
            public void onNext(EchoReply value) {
                reply = value;
            }

            @Override
            public void onError(Throwable t) {
                outcome.done(false, "gRPC " + Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                outcome.done(valid(reply), reply == null ? "no reply" : "unexpected reply " + reply);
            }
        });
    }

    private boolean valid(EchoReply reply) {
        return reply != null
                && MESSAGE.equals(reply.getMessage())
                && serverId.equals(reply.getServerId())
                && callerId.equals(reply.getCallerId());
    }

    /** One blocking call, for start-up probes; true when the reply was valid. */
    boolean probe(long timeoutMillis) {
        try {
            EchoReply reply = EchoGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                    .echo(request);
            return valid(reply);
        } catch (io.grpc.StatusRuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
