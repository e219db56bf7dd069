package dev.echochain.server;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.PeerAuthorizer;
import io.helidon.config.Config;
import io.spiffe.spiffeid.SpiffeId;

/**
 * echo-server's settings.
 *
 * @param host            address to bind both sockets to
 * @param port            gRPC mutual-TLS port ({@code server.port}, 0 for ephemeral)
 * @param observePort     plain-HTTP observe port ({@code observe.port}, 0 for ephemeral)
 * @param shutdownGrace   how long in-flight calls may run after SIGTERM ({@code server.shutdown.grace})
 * @param allowedCallers  exact SPIFFE IDs that may call ({@code echo.allowed.callers})
 * @param maxMessageBytes longest message accepted, in UTF-8 bytes ({@code echo.max.message.bytes})
 * @param identity        where the Workload API lives
 * @param maxConnections  open TCP connections on the gRPC socket ({@code server.max.connections}); further ones
 *                        wait in the kernel's accept queue until one closes, so a flood of new connections cannot
 *                        exhaust the heap with pending handshakes; -1 for no limit
 */
public record EchoServerConfig(String host,
                               int port,
                               int observePort,
                               Duration shutdownGrace,
                               Set<SpiffeId> allowedCallers,
                               int maxMessageBytes,
                               IdentityConfig identity,
                               int maxConnections) {

    /** The default of {@code server.max.connections}. */
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;

    /**
     * Validates the settings.
     *
     * @throws IllegalArgumentException naming the setting that is out of range
     */
    public EchoServerConfig {
        Objects.requireNonNull(host, "host must not be null");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace must not be null");
        Objects.requireNonNull(identity, "identity must not be null");
        allowedCallers = Set.copyOf(allowedCallers);
        checkPort("server.port", port);
        checkPort("observe.port", observePort);
        if (maxMessageBytes < 0) {
            throw new IllegalArgumentException("echo.max.message.bytes must be 0 or more, got " + maxMessageBytes);
        }
        if (maxConnections != -1 && maxConnections < 1) {
            throw new IllegalArgumentException("server.max.connections must be at least 1, or -1 for no limit, got "
                    + maxConnections);
        }
    }

    /**
     * Settings with the default connection limit.
     *
     * @param host            address to bind both sockets to
     * @param port            gRPC mutual-TLS port, 0 for ephemeral
     * @param observePort     plain-HTTP observe port, 0 for ephemeral
     * @param shutdownGrace   how long in-flight calls may run after SIGTERM
     * @param allowedCallers  exact SPIFFE IDs that may call
     * @param maxMessageBytes longest message accepted, in UTF-8 bytes
     * @param identity        where the Workload API lives
     */
    public EchoServerConfig(String host, int port, int observePort, Duration shutdownGrace,
                            Set<SpiffeId> allowedCallers, int maxMessageBytes, IdentityConfig identity) {
        this(host, port, observePort, shutdownGrace, allowedCallers, maxMessageBytes, identity,
                DEFAULT_MAX_CONNECTIONS);
    }

    /**
     * The same settings with another connection limit.
     *
     * @param value open TCP connections on the gRPC socket, -1 for no limit
     * @return the changed settings
     */
    public EchoServerConfig withMaxConnections(int value) {
        return new EchoServerConfig(host, port, observePort, shutdownGrace, allowedCallers, maxMessageBytes, identity,
                value);
    }

    /**
     * Reads the settings from the service configuration.
     *
     * @param config the root configuration
     * @return the settings
     * @throws IllegalArgumentException naming the setting that is missing or malformed
     */
    public static EchoServerConfig create(Config config) {
        return new EchoServerConfig(
                config.get("server.host").asString().orElse("0.0.0.0"),
                config.get("server.port").asInt().orElse(8443),
                config.get("observe.port").asInt().orElse(9090),
                config.get("server.shutdown.grace").as(Duration.class).orElse(Duration.ofSeconds(10)),
                PeerAuthorizer.parseIds("echo.allowed.callers",
                        config.get("echo.allowed.callers").asList(String.class).orElse(List.of())),
                config.get("echo.max.message.bytes").asInt().orElse(65536),
                IdentityConfig.create(config.get("spiffe")),
                config.get("server.max.connections").asInt().orElse(DEFAULT_MAX_CONNECTIONS));
    }

    static void checkPort(String key, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(key + " must be a TCP port from 0 to 65535, got " + port);
        }
    }
}
