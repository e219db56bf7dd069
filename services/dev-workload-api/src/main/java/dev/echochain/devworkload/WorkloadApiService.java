package dev.echochain.devworkload;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;

/**
 * The Workload API service of one {@link WorkloadEndpoint}: X.509-SVID and bundle streams; JWT is not served.
 */
final class WorkloadApiService extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {

    private static final String NO_JWT =
            "JWT-SVIDs are not served by the local development Workload API; it issues X.509-SVIDs only";

    private final WorkloadEndpoint endpoint;

    WorkloadApiService(WorkloadEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    @Override
    public void fetchX509SVID(Workload.X509SVIDRequest request,
                              StreamObserver<Workload.X509SVIDResponse> responses) {
        endpoint.watchSvid(responses);
    }

    @Override
    public void fetchX509Bundles(Workload.X509BundlesRequest request,
                                 StreamObserver<Workload.X509BundlesResponse> responses) {
        endpoint.watchBundles(responses);
    }

    @Override
    public void fetchJWTSVID(Workload.JWTSVIDRequest request,
                             StreamObserver<Workload.JWTSVIDResponse> responses) {
        responses.onError(Status.UNIMPLEMENTED.withDescription(NO_JWT).asRuntimeException());
    }

    @Override
    public void fetchJWTBundles(Workload.JWTBundlesRequest request,
                                StreamObserver<Workload.JWTBundlesResponse> responses) {
        responses.onError(Status.UNIMPLEMENTED.withDescription(NO_JWT).asRuntimeException());
    }

    @Override
    public void validateJWTSVID(Workload.ValidateJWTSVIDRequest request,
                                StreamObserver<Workload.ValidateJWTSVIDResponse> responses) {
        responses.onError(Status.UNIMPLEMENTED.withDescription(NO_JWT).asRuntimeException());
    }
}
