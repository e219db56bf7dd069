package dev.echochain.identity;

import java.util.List;

import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.helidon.metrics.api.FunctionalCounter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.Metrics;
import io.helidon.webserver.ListenerConfig;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.observe.metrics.MetricsObserver;

/**
 * The plain-HTTP observe socket of a service: liveness and readiness at {@code /observe/health/live} and
 * {@code /observe/health/ready}, Prometheus metrics at {@code /observe/metrics}.
 *
 * <p>Readiness means an X.509-SVID is held and inside its validity period. The socket carries no application
 * traffic and no TLS, so that kubelet probes and Prometheus need no SVID.
 */
public final class Observe {

    /** Name of the observe socket. */
    public static final String SOCKET = "observe";

    private Observe() {
    }

    /**
     * Adds the observe socket, health checks and identity metrics to a server configuration.
     *
     * @param server   the server being configured
     * @param host     the address to bind, e.g. {@code 0.0.0.0}
     * @param port     the port to bind, {@code 0} for an ephemeral one
     * @param identity the workload identity whose state readiness and metrics report
     */
    public static void addTo(WebServerConfig.Builder server, String host, int port, WorkloadIdentity identity) {
        registerMetrics(identity);
        server.featuresDiscoverServices(false)
                .putSocket(SOCKET, ListenerConfig.builder()
                        .name(SOCKET)
                        .host(host)
                        .port(port)
                        .connectionOptions(options -> options.tcpNoDelay(true))
                        .build())
                .addFeature(ObserveFeature.builder()
                        .sockets(List.of(SOCKET))
                        .observersDiscoverServices(false)
                        .addObserver(HealthObserver.builder()
                                .useSystemServices(false)
                                .details(false)
                                .addCheck(() -> svidCheck(identity), HealthCheckType.READINESS, "svid")
                                .build())
                        .addObserver(MetricsObserver.create())
                        .build());
    }

    static HealthCheckResponse svidCheck(WorkloadIdentity identity) {
        HealthCheckResponse.Builder response = HealthCheckResponse.builder()
                .status(identity.hasValidSvid())
                .detail("workloadApi", identity.endpoint());
        identity.currentSvid().ifPresent(svid -> response
                .detail("spiffeId", svid.getSpiffeId().toString())
                .detail("expires", svid.getLeaf().getNotAfter().toInstant().toString()));
        return response.build();
    }

    private static void registerMetrics(WorkloadIdentity identity) {
        Metrics.globalRegistry().getOrCreate(Gauge.builder("spiffe.svid.expiry.seconds", identity::secondsToExpiry)
                .description("Seconds until the current X.509-SVID expires; NaN before the first SVID"));
        Metrics.globalRegistry().getOrCreate(Gauge.builder("spiffe.svid.valid",
                        () -> identity.hasValidSvid() ? 1 : 0)
                .description("1 while an X.509-SVID is held and inside its validity period, else 0"));
        Metrics.globalRegistry().getOrCreate(FunctionalCounter.builder("spiffe.svid.rotations", identity,
                        WorkloadIdentity::rotations)
                .description("X.509-SVIDs received from the Workload API after the first one"));
    }
}
