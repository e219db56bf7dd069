package dev.echochain.devworkload;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Refuses calls that lack the {@code workload.spiffe.io: true} header, as the SPIFFE Workload API specification
 * requires of every server, so that a browser or a confused proxy cannot be tricked into fetching SVIDs.
 */
final class SecurityHeaderInterceptor implements ServerInterceptor {

    static final Metadata.Key<String> HEADER = Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    private static final System.Logger LOGGER = System.getLogger(SecurityHeaderInterceptor.class.getName());

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call,
                                                      Metadata headers,
                                                      ServerCallHandler<Q, A> next) {
        if ("true".equals(headers.get(HEADER))) {
            return next.startCall(call, headers);
        }
        String method = call.getMethodDescriptor().getFullMethodName();
        LOGGER.log(System.Logger.Level.WARNING, "Refused {0}: the workload.spiffe.io header is missing", method);
        call.close(Status.INVALID_ARGUMENT.withDescription(
                "security header missing from request: the Workload API requires metadata 'workload.spiffe.io: true'"),
                   new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
