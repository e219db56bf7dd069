package dev.echochain.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.PeerAuthorizer;
import io.helidon.config.Config;
import io.spiffe.spiffeid.SpiffeId;

/**
 * echo-gateway's settings.
 *
 * @param host             address to bind both sockets to
 * @param port             HTTPS mutual-TLS port ({@code server.port}, 0 for ephemeral)
 * @param observePort      plain-HTTP observe port ({@code observe.port}, 0 for ephemeral)
 * @param shutdownGrace    how long in-flight requests may run after SIGTERM ({@code server.shutdown.grace})
 * @param allowedCallers   exact SPIFFE IDs that may call the gateway ({@code gateway.allowed.callers})
 * @param upstreamHost     echo-server's host ({@code gateway.upstream.address}, before the colon)
 * @param upstreamPort     echo-server's port ({@code gateway.upstream.address}, after the colon)
 * @param upstreamId       the SPIFFE ID echo-server must present ({@code gateway.upstream.id})
 * @param upstreamDeadline deadline of each call to echo-server ({@code gateway.upstream.deadline})
 * @param maxBodyBytes     largest request body accepted ({@code gateway.max.body.bytes})
 * @param identity         where the Workload API lives
 * @param limits           connection, concurrency and body-time limits of the HTTPS socket
 */
public record GatewayConfig(String host,
                            int port,
                            int observePort,
                            Duration shutdownGrace,
                            Set<SpiffeId> allowedCallers,
                            String upstreamHost,
                            int upstreamPort,
                            SpiffeId upstreamId,
                            Duration upstreamDeadline,
                            int maxBodyBytes,
                            IdentityConfig identity,
                            GatewayLimits limits) {

    /**
     * Validates the settings.
     *
     * @throws IllegalArgumentException naming the setting that is out of range
     */
    public GatewayConfig {
        Objects.requireNonNull(host, "host must not be null");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace must not be null");
        Objects.requireNonNull(upstreamHost, "upstreamHost must not be null");
        Objects.requireNonNull(upstreamId, "upstreamId must not be null");
        Objects.requireNonNull(upstreamDeadline, "upstreamDeadline must not be null");
        Objects.requireNonNull(identity, "identity must not be null");
        Objects.requireNonNull(limits, "limits must not be null");
        allowedCallers = Set.copyOf(allowedCallers);
        checkPort("server.port", port, 0);
        checkPort("observe.port", observePort, 0);
        checkPort("gateway.upstream.address", upstreamPort, 1);
        if (upstreamDeadline.isNegative() || upstreamDeadline.isZero()) {
            throw new IllegalArgumentException("gateway.upstream.deadline must be a positive ISO-8601 duration such "
                    + "as PT2S, got " + upstreamDeadline);
        }
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("gateway.max.body.bytes must be at least 1, got " + maxBodyBytes);
        }
    }

    /**
     * Settings with the default {@link GatewayLimits}.
     *
     * @param host             address to bind both sockets to
     * @param port             HTTPS mutual-TLS port
     * @param observePort      plain-HTTP observe port
     * @param shutdownGrace    how long in-flight requests may run after SIGTERM
     * @param allowedCallers   exact SPIFFE IDs that may call the gateway
     * @param upstreamHost     echo-server's host
     * @param upstreamPort     echo-server's port
     * @param upstreamId       the SPIFFE ID echo-server must present
     * @param upstreamDeadline deadline of each call to echo-server
     * @param maxBodyBytes     largest request body accepted
     * @param identity         where the Workload API lives
     */
    public GatewayConfig(String host, int port, int observePort, Duration shutdownGrace, Set<SpiffeId> allowedCallers,
                         String upstreamHost, int upstreamPort, SpiffeId upstreamId, Duration upstreamDeadline,
                         int maxBodyBytes, IdentityConfig identity) {
        this(host, port, observePort, shutdownGrace, allowedCallers, upstreamHost, upstreamPort, upstreamId,
                upstreamDeadline, maxBodyBytes, identity, GatewayLimits.DEFAULT);
    }

    /**
     * Returns these settings with other limits.
     *
     * @param other the limits to use
     * @return a copy with {@code other} as its limits
     */
    public GatewayConfig withLimits(GatewayLimits other) {
        return new GatewayConfig(host, port, observePort, shutdownGrace, allowedCallers, upstreamHost, upstreamPort,
                upstreamId, upstreamDeadline, maxBodyBytes, identity, other);
    }

    /**
     * Reads the settings from the service configuration.
     *
     * @param config the root configuration
     * @return the settings
     * @throws IllegalArgumentException naming the setting that is missing or malformed
     */
    public static GatewayConfig create(Config config) {
        String address = config.get("gateway.upstream.address").asString()
                .orElseThrow(() -> new IllegalArgumentException("gateway.upstream.address (GATEWAY_UPSTREAM_ADDRESS) "
                        + "is not set: give echo-server's host:port"));
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("gateway.upstream.address must be host:port, got '" + address + "'");
        }
        int upstreamPort;
        try {
            upstreamPort = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("gateway.upstream.address must end in a numeric port, got '"
                    + address + "'", e);
        }
        String upstreamId = config.get("gateway.upstream.id").asString()
                .orElseThrow(() -> new IllegalArgumentException("gateway.upstream.id (GATEWAY_UPSTREAM_ID) is not set: "
                        + "give echo-server's SPIFFE ID"));
        return new GatewayConfig(
                config.get("server.host").asString().orElse("0.0.0.0"),
                config.get("server.port").asInt().orElse(8443),
                config.get("observe.port").asInt().orElse(9090),
                config.get("server.shutdown.grace").as(Duration.class).orElse(Duration.ofSeconds(10)),
                PeerAuthorizer.parseIds("gateway.allowed.callers",
                        config.get("gateway.allowed.callers").asList(String.class).orElse(List.of())),
                address.substring(0, colon),
                upstreamPort,
                PeerAuthorizer.parseIds("gateway.upstream.id", List.of(upstreamId)).iterator().next(),
                config.get("gateway.upstream.deadline").as(Duration.class).orElse(Duration.ofSeconds(2)),
                config.get("gateway.max.body.bytes").asInt().orElse(131072),
                IdentityConfig.create(config.get("spiffe")),
                GatewayLimits.create(config));
    }

    private static void checkPort(String key, int port, int min) {
        if (port < min || port > 65535) {
            throw new IllegalArgumentException(key + " must hold a TCP port from " + min + " to 65535, got " + port);
        }
    }
}
