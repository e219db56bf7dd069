package dev.echochain.gateway;

import java.time.Duration;
import java.util.Objects;

import dev.echochain.identity.SpiffeTls;
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
 * @param handshakeTimeout      how long a client may take to complete its TLS handshake
 *                              ({@code server.handshake.timeout}); a slower one loses its connection
 * @param maxConcurrentStreams  HTTP/2 streams one connection may have open at once
 *                              ({@code server.max.concurrent.streams}), advertised to clients in SETTINGS
 */
public record GatewayLimits(int maxConnections, int maxConcurrentRequests, Duration bodyTimeout,
                            Duration handshakeTimeout, int maxConcurrentStreams) {

    private static final int DEFAULT_STREAMS = 1024;

    /**
     * The defaults: 1024 connections, 512 requests at once, ten seconds for a body and for a handshake, and 1024
     * streams per HTTP/2 connection.
     *
     * <p>The stream limit stays above the request limit on purpose. Helidon 4.5.0's server keeps a connection's
     * finished streams in memory until a new stream arrives on that connection (its stream map is cleaned lazily),
     * and Helidon's HTTP/2 client puts new streams only on its newest connection: once that one is full it opens
     * another and leaves the full one open and idle. With 100 streams per connection, one such client with 256
     * requests in flight left 217 idle connections holding 20,000 finished streams, and the gateway ran out of its
     * 64 MiB heap within 20 s. A client reaches 1,024 streams on one connection only while the gateway already
     * answers all but 512 of them with 503.
     */
    public static final GatewayLimits DEFAULT = new GatewayLimits(1024, 512, Duration.ofSeconds(10),
            SpiffeTls.DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_STREAMS);

    /**
     * Limits with the default handshake timeout.
     *
     * @param maxConnections        open TCP connections on the HTTPS socket, -1 for no limit
     * @param maxConcurrentRequests requests handled at once, -1 for no limit
     * @param bodyTimeout           how long a client may take to send its whole request body
     */
    public GatewayLimits(int maxConnections, int maxConcurrentRequests, Duration bodyTimeout) {
        this(maxConnections, maxConcurrentRequests, bodyTimeout, SpiffeTls.DEFAULT_HANDSHAKE_TIMEOUT,
                DEFAULT_STREAMS);
    }

    /**
     * Validates the limits.
     *
     * @throws IllegalArgumentException naming the setting that is out of range
     */
    public GatewayLimits {
        Objects.requireNonNull(bodyTimeout, "bodyTimeout must not be null");
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout must not be null");
        checkLimit("server.max.connections", maxConnections);
        checkLimit("server.max.concurrent.requests", maxConcurrentRequests);
        if (maxConcurrentStreams < 1) {
            throw new IllegalArgumentException("server.max.concurrent.streams must be at least 1, got "
                    + maxConcurrentStreams);
        }
        if (bodyTimeout.isNegative() || bodyTimeout.isZero()) {
            throw new IllegalArgumentException("gateway.body.timeout must be a positive ISO-8601 duration such as "
                    + "PT10S, got " + bodyTimeout);
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("server.handshake.timeout must be a positive ISO-8601 duration such "
                    + "as PT10S, got " + handshakeTimeout);
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
                config.get("gateway.body.timeout").as(Duration.class).orElse(DEFAULT.bodyTimeout()),
                config.get("server.handshake.timeout").as(Duration.class).orElse(DEFAULT.handshakeTimeout()),
                config.get("server.max.concurrent.streams").asInt().orElse(DEFAULT.maxConcurrentStreams()));
    }

    private static void checkLimit(String key, int value) {
        if (value != -1 && value < 1) {
            throw new IllegalArgumentException(key + " must be at least 1, or -1 for no limit, got " + value);
        }
    }
}
