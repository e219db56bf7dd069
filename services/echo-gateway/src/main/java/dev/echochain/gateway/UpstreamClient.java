package dev.echochain.gateway;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLException;

import dev.echochain.echo.v1.EchoGrpc;
import dev.echochain.echo.v1.EchoReply;
import dev.echochain.echo.v1.EchoRequest;
import dev.echochain.identity.PeerAuthorizer;
import dev.echochain.identity.SpiffeTls;
import dev.echochain.identity.WorkloadIdentity;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.helidon.metrics.api.FunctionalCounter;
import io.helidon.metrics.api.Metrics;
import io.spiffe.provider.SpiffeKeyManager;

/**
 * The gateway's gRPC client for echo-server: one long-lived HTTP/2 connection over mutual TLS, shared by all
 * requests, with echo-server's exact SPIFFE ID required at every handshake.
 *
 * <p>Helidon's gRPC client (4.5.0) opens and closes a TCP and TLS connection for every call, which would cost a full
 * handshake per request. grpc-java's Netty channel multiplexes calls on one connection and reconnects on its own,
 * so it carries this hop; it uses the same java-spiffe key manager and the same {@link PeerAuthorizer} as the
 * Helidon sockets, so SVID and bundle rotation reach its next handshake without a restart.
 */
public final class UpstreamClient implements AutoCloseable {

    private static final System.Logger LOGGER = System.getLogger(UpstreamClient.class.getName());
    private static final long BACKOFF_RESET_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    /*
     * Helidon 4.5.0's HTTP/2 server treats a RST_STREAM for a stream it has already finished as a connection error
     * ("Stream N was never created and has lower ID than last") and closes the connection, although RFC 9113
     * section 5.1 allows such frames on a closed stream. grpc-java resets every call that passes its deadline, so one
     * late reply crossing that reset took down the shared connection and failed every other call on it with
     * UNAVAILABLE, or UNKNOWN "channel closed" when the call was being written at that moment. Echo is idempotent:
     * such a call is tried again, on a new connection, within its deadline. With echo-server really down, the three
     * attempts still fail within a few hundred milliseconds.
     */
    private static final Map<String, Object> RETRY_ON_LOST_CONNECTION = Map.of("methodConfig", List.of(Map.of(
            "name", List.of(Map.of("service", EchoGrpc.SERVICE_NAME)),
            "retryPolicy", Map.of(
                    "maxAttempts", 3.0,
                    "initialBackoff", "0.02s",
                    "maxBackoff", "0.1s",
                    "backoffMultiplier", 2.0,
                    "retryableStatusCodes", List.of("UNAVAILABLE", "UNKNOWN")))));

    private final ManagedChannel channel;
    private final EventLoopGroup eventLoop;
    private final EchoGrpc.EchoBlockingStub stub;
    private final Duration deadline;
    private final PeerAuthorizer upstream;
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong lastBackoffReset = new AtomicLong(System.nanoTime() - BACKOFF_RESET_NANOS);

    private UpstreamClient(GatewayConfig config, WorkloadIdentity identity, PeerAuthorizer upstream) {
        this.deadline = config.upstreamDeadline();
        this.upstream = upstream;
        // epoll where grpc-netty-shaded's native transport loads (Linux): each blocking call hands its write to the
        // event loop, and waking an NIO selector for that cost a sixth of the gateway's CPU in a profile
        boolean epoll = Epoll.isAvailable();
        this.eventLoop = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        this.channel = NettyChannelBuilder.forAddress(config.upstreamHost(), config.upstreamPort())
                .sslContext(sslContext(identity, upstream))
                .eventLoopGroup(eventLoop)
                .channelFactory(() -> {
                    connections.incrementAndGet();
                    return epoll ? new EpollSocketChannel() : new NioSocketChannel();
                })
                .withOption(ChannelOption.TCP_NODELAY, true)
                .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(1000, deadline.toMillis()))
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(5, TimeUnit.SECONDS)
                .defaultServiceConfig(RETRY_ON_LOST_CONNECTION)
                .enableRetry()
                .build();
        this.stub = EchoGrpc.newBlockingStub(channel);
        Metrics.globalRegistry().getOrCreate(FunctionalCounter.builder("gateway.upstream.connections", connections,
                        AtomicLong::get)
                .description("TCP connections the gateway opened to echo-server"));
    }

    /**
     * Creates the client; it connects on the first call.
     *
     * @param config   the gateway settings naming echo-server's address, SPIFFE ID and deadline
     * @param identity the gateway's workload identity
     * @return the client
     */
    public static UpstreamClient create(GatewayConfig config, WorkloadIdentity identity) {
        PeerAuthorizer upstream = PeerAuthorizer.create("echo-server", Set.of(config.upstreamId()), identity);
        LOGGER.log(Level.INFO, "Calling echo-server at {0}:{1,number,#} as {2}, deadline {3,number,#} ms",
                config.upstreamHost(), config.upstreamPort(), config.upstreamId(),
                config.upstreamDeadline().toMillis());
        return new UpstreamClient(config, identity, upstream);
    }

    /**
     * Calls echo.v1.Echo/Echo with the configured deadline.
     *
     * @param message the message to echo
     * @return echo-server's reply
     * @throws StatusRuntimeException with the call's status when it fails
     */
    public EchoReply echo(String message) {
        try {
            return stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
                    .echo(EchoRequest.newBuilder().setMessage(message).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE) {
                resetBackoff();
            }
            throw e;
        }
    }

    /**
     * Counts the TCP connections opened to echo-server since start; one per handshake.
     *
     * @return connections opened
     */
    public long connectionsOpened() {
        return connections.get();
    }

    /**
     * The authorizer that checks echo-server's SPIFFE ID at each handshake.
     *
     * @return the upstream authorizer
     */
    public PeerAuthorizer upstream() {
        return upstream;
    }

    /** Closes the connection, letting calls in flight finish for up to five seconds. */
    @Override
    public void close() {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
        eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /*
     * grpc-java waits up to two minutes between reconnect attempts once a server is gone. A gateway should notice
     * echo-server's return at the next request, so an UNAVAILABLE call allows an immediate reconnect, at most four
     * times a second.
     */
    private void resetBackoff() {
        long now = System.nanoTime();
        long last = lastBackoffReset.get();
        if (now - last >= BACKOFF_RESET_NANOS && lastBackoffReset.compareAndSet(last, now)) {
            channel.resetConnectBackoff();
        }
    }

    private static SslContext sslContext(WorkloadIdentity identity, PeerAuthorizer upstream) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forClient()
                            .keyManager(new SpiffeKeyManager(identity))
                            .trustManager(upstream)
                            .protocols(SpiffeTls.PROTOCOL),
                    SslProvider.JDK)
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("Failed to create the TLS context for echo-server: " + e.getMessage(), e);
        }
    }
}
