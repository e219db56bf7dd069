package dev.echochain.server;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.echochain.echo.v1.EchoGrpc;
import dev.echochain.echo.v1.EchoReply;
import dev.echochain.echo.v1.EchoRequest;
import dev.echochain.identity.PeerIds;
import dev.echochain.identity.WorkloadIdentity;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;
import io.helidon.metrics.api.Timer;
import io.helidon.webserver.grpc.GrpcConnectionContext;
import io.helidon.webserver.grpc.ServerContextKeys;
import io.spiffe.spiffeid.SpiffeId;

/**
 * The echo.v1.Echo service: returns the message with the server's SPIFFE ID and the caller's, as seen on the mutual
 * TLS connection that carried the call.
 */
public final class EchoService extends EchoGrpc.EchoImplBase {

    private static final System.Logger LOGGER = System.getLogger(EchoService.class.getName());

    private final WorkloadIdentity identity;
    private final int maxMessageBytes;
    private final Timer ok;
    private final Timer invalid;
    private final Timer unauthenticated;

    /**
     * Creates the service.
     *
     * @param identity        the server's own identity
     * @param maxMessageBytes longest message accepted, in UTF-8 bytes
     */
    public EchoService(WorkloadIdentity identity, int maxMessageBytes) {
        this.identity = identity;
        this.maxMessageBytes = maxMessageBytes;
        this.ok = outcome("ok");
        this.invalid = outcome("invalid_argument");
        this.unauthenticated = outcome("unauthenticated");
    }

    @Override
    public void echo(EchoRequest request, StreamObserver<EchoReply> response) {
        long start = System.nanoTime();
        int size = request.getMessageBytes().size();
        if (size > maxMessageBytes) {
            record(invalid, start);
            response.onError(Status.INVALID_ARGUMENT
                    .withDescription("message is " + size + " bytes of UTF-8; the limit is " + maxMessageBytes
                            + " bytes (echo.max.message.bytes)")
                    .asRuntimeException());
            return;
        }
        GrpcConnectionContext connection = ServerContextKeys.CONNECTION_CONTEXT.get();
        SpiffeId caller = connection == null ? null : connection.remotePeer()
                .tlsCertificates()
                .flatMap(PeerIds::fromChain)
                .orElse(null);
        if (caller == null) {
            // Cannot happen on a socket that requires client certificates; refuse rather than answer anonymously.
            record(unauthenticated, start);
            LOGGER.log(Level.ERROR, "Refused a call that carried no client SPIFFE ID");
            response.onError(Status.UNAUTHENTICATED
                    .withDescription("the connection carries no client X.509-SVID")
                    .asRuntimeException());
            return;
        }
        response.onNext(EchoReply.newBuilder()
                .setMessage(request.getMessage())
                .setServerId(identity.spiffeId())
                .setCallerId(caller.toString())
                .build());
        response.onCompleted();
        record(ok, start);
    }

    private static void record(Timer timer, long start) {
        timer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }

    private static Timer outcome(String outcome) {
        return Metrics.globalRegistry().getOrCreate(Timer.builder("echo.calls")
                .description("echo.v1.Echo/Echo calls by outcome, with the time the service took to answer")
                .tags(List.of(Tag.create("outcome", outcome))));
    }
}
