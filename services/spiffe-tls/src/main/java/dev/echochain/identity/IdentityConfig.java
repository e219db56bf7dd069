package dev.echochain.identity;

import java.time.Duration;
import java.util.Objects;

import io.helidon.config.Config;

/**
 * Where the Workload API lives and how long a service waits for its first SVID.
 *
 * @param endpointSocket the Workload API address, {@code unix:/path} or {@code unix:///path}; read from the
 *                       standard {@code SPIFFE_ENDPOINT_SOCKET} variable (config key {@code spiffe.endpoint.socket})
 * @param initTimeout    how long to wait for the first X.509-SVID before giving up
 */
public record IdentityConfig(String endpointSocket, Duration initTimeout) {

    /** Default wait for the first SVID. */
    public static final Duration DEFAULT_INIT_TIMEOUT = Duration.ofSeconds(30);

    /**
     * Validates the settings.
     *
     * @throws IllegalArgumentException when a setting is missing or out of range
     */
    public IdentityConfig {
        Objects.requireNonNull(endpointSocket, "endpointSocket must not be null");
        Objects.requireNonNull(initTimeout, "initTimeout must not be null");
        if (!endpointSocket.startsWith("unix:") && !endpointSocket.startsWith("tcp:")) {
            throw new IllegalArgumentException("spiffe.endpoint.socket (SPIFFE_ENDPOINT_SOCKET) must look like "
                    + "unix:///absolute/path/to/agent.sock, got '" + endpointSocket + "'");
        }
        if (initTimeout.isNegative() || initTimeout.isZero()) {
            throw new IllegalArgumentException("spiffe.init.timeout (SPIFFE_INIT_TIMEOUT) must be a positive "
                    + "ISO-8601 duration such as PT30S, got " + initTimeout);
        }
    }

    /**
     * Reads the {@code spiffe} node of the service configuration. Helidon maps the environment variables
     * {@code SPIFFE_ENDPOINT_SOCKET} and {@code SPIFFE_INIT_TIMEOUT} onto its keys.
     *
     * @param spiffe the {@code spiffe} configuration node
     * @return the identity configuration
     * @throws IllegalArgumentException when the endpoint is not set or a value is malformed
     */
    public static IdentityConfig create(Config spiffe) {
        String endpoint = spiffe.get("endpoint.socket")
                .asString()
                .orElseThrow(() -> new IllegalArgumentException(
                        "SPIFFE_ENDPOINT_SOCKET is not set: point it at the Workload API socket, "
                                + "for example unix:///spiffe-workload-api/spire-agent.sock"));
        Duration timeout = spiffe.get("init.timeout").as(Duration.class).orElse(DEFAULT_INIT_TIMEOUT);
        return new IdentityConfig(endpoint, timeout);
    }
}
