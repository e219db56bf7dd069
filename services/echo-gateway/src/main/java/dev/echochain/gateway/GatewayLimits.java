package dev.echochain.gateway;

import java.time.Duration;
import java.util.Objects;

import io.helidon.config.Config;

/**
 * How much one gateway takes on at once, so that hostile or broken clients cannot exhaust it.
 *
 * @param maxConnections        open TCP connections on the HTTPS socket ({@code server.max.connections}); further
 *                              connections wait in the kernel's accept queue until one closes; -1 for no limit
 * @param maxConcurrentRequests requests handled at once ({@code server.max.concurrent.requests}); further ones get
 *                              503; -1 for no limit
 * @param bodyTimeout           how long a client may take to send its whole request body
 *                              ({@code gateway.body.timeout}); a slower one gets 408, or loses its connection
 */
public record GatewayLimits(int maxConnections, int maxConcurrentRequests, Duration bodyTimeout) {

    /** The defaults: 1024 connections, no request limit, ten seconds for a body. */
    public static final GatewayLimits DEFAULT = new GatewayLimits(1024, -1, Duration.ofSeconds(10));

    /**
     * Validates the limits.
     *
     * @throws IllegalArgumentException naming the setting that is out of range
     */
    public GatewayLimits {
        Objects.requireNonNull(bodyTimeout, "bodyTimeout must not be null");
        checkLimit("server.max.connections", maxConnections);
        checkLimit("server.max.concurrent.requests", maxConcurrentRequests);
        if (bodyTimeout.isNegative() || bodyTimeout.isZero()) {
            throw new IllegalArgumentException("gateway.body.timeout must be a positive ISO-8601 duration such as "
                    + "PT10S, got " + bodyTimeout);
        }
    }

    /**
     * Reads the limits; each key has an environment override, e.g. {@code SERVER_MAX_CONNECTIONS}.
     *
     * @param config the root configuration
     * @return the limits, with defaults for keys not set
     */
    public static GatewayLimits create(Config config) {
        return new GatewayLimits(
                config.get("server.max.connections").asInt().orElse(DEFAULT.maxConnections()),
                config.get("server.max.concurrent.requests").asInt().orElse(DEFAULT.maxConcurrentRequests()),
                config.get("gateway.body.timeout").as(Duration.class).orElse(DEFAULT.bodyTimeout()));
    }

    private static void checkLimit(String key, int value) {
        if (value != -1 && value < 1) {
            throw new IllegalArgumentException(key + " must be at least 1, or -1 for no limit, got " + value);
        }
    }
}
