package dev.echochain.devworkload;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.Workload;

/**
 * One Unix socket of a {@link LocalWorkloadApi} that serves the Workload API to a single workload identity.
 *
 * <p>Every {@code FetchX509SVID} stream gets the current SVID at once and again after each rotation; every
 * {@code FetchX509Bundles} stream gets the bundle at once and again after each change. {@link #stop()} and
 * {@link #start()} simulate an outage of the agent. Instances are thread-safe.
 */
public final class WorkloadEndpoint {

    /** The longest Unix socket path, in bytes: {@code sun_path} holds 108 bytes including the terminating NUL. */
    public static final int MAX_SOCKET_PATH_BYTES = 107;

    private static final System.Logger LOGGER = System.getLogger(WorkloadEndpoint.class.getName());
    private static final int SOCKET_FILE_TYPE = 0140000;
    private static final int FILE_TYPE_MASK = 0170000;

    private final LocalWorkloadApi api;
    private final String spiffeId;
    private final Path socket;
    private final Set<ServerCallStreamObserver<Workload.X509SVIDResponse>> svidWatchers =
            ConcurrentHashMap.newKeySet();
    private final Set<ServerCallStreamObserver<Workload.X509BundlesResponse>> bundleWatchers =
            ConcurrentHashMap.newKeySet();
    private final AtomicLong svidPushes = new AtomicLong();
    private final AtomicLong bundlePushes = new AtomicLong();
    private final SvidHolder holder = new SvidHolder() {
        @Override
        public String spiffeId() {
            return spiffeId;
        }

        @Override
        public void update(IssuedSvid svid, List<X509Certificate> bundle, boolean bundleChanged) {
            WorkloadEndpoint.this.update(svid, bundle, bundleChanged);
        }
    };

    // guarded by this
    private IssuedSvid svid;
    private Workload.X509SVIDResponse svidResponse;
    private Workload.X509BundlesResponse bundlesResponse;
    private Server server;

    WorkloadEndpoint(LocalWorkloadApi api, String spiffeId, Path socket) {
        this.api = api;
        this.spiffeId = spiffeId;
        this.socket = checkSocketPath(socket);
    }

    /**
     * The SPIFFE ID this socket hands out.
     *
     * @return the SPIFFE ID
     */
    public String spiffeId() {
        return spiffeId;
    }

    /**
     * The absolute path of the Unix socket.
     *
     * @return the path
     */
    public Path socket() {
        return socket;
    }

    /**
     * The Workload API address for {@code SPIFFE_ENDPOINT_SOCKET}, in the form {@code unix:/abs/path}.
     *
     * @return the address
     */
    public String address() {
        return "unix:" + socket;
    }

    /**
     * The SVID that this socket hands out now.
     *
     * @return the current SVID
     */
    public synchronized IssuedSvid currentSvid() {
        return svid;
    }

    /**
     * Issues a new SVID (new key, new serial) from the current CA and pushes it to every watcher.
     *
     * @return the new SVID
     */
    public IssuedSvid rotateSvid() {
        return api.renew(holder);
    }

    /**
     * Whether the socket is serving.
     *
     * @return {@code true} between {@link #start()} and {@link #stop()}
     */
    public synchronized boolean isServing() {
        return server != null;
    }

    /**
     * Serves the Workload API on the socket again after {@link #stop()}; does nothing while serving.
     *
     * <p>A stale socket file at the path is replaced; any other kind of file there is an error.
     *
     * @throws UncheckedIOException if the socket cannot be bound
     * @throws IllegalStateException if the {@link LocalWorkloadApi} is closed
     */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        api.checkOpen();
        removeStaleSocket();
        Server started = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(api.eventLoops())
                .workerEventLoopGroup(api.eventLoops())
                // Unix sockets have no keep-alive; grpc-java sets it on every accepted channel and Netty then warns
                // once per connection. A null value removes the option (java-spiffe's client does the same).
                .withChildOption(ChannelOption.SO_KEEPALIVE, null)
                .addService(ServerInterceptors.intercept(new WorkloadApiService(this),
                                                         new SecurityHeaderInterceptor()))
                .build();
        try {
            started.start();
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to serve the Workload API on " + socket, e);
        }
        server = started;
        LOGGER.log(System.Logger.Level.INFO, "Serving the Workload API for {0} on {1}", spiffeId, address());
    }

    /**
     * Closes the socket, ends every stream and deletes the socket file, as when an agent goes away; does nothing
     * when stopped. The SVID keeps rotating meanwhile.
     */
    public void stop() {
        Server stopping;
        synchronized (this) {
            stopping = server;
            server = null;
        }
        if (stopping == null) {
            return;
        }
        stopping.shutdownNow();
        try {
            if (!stopping.awaitTermination(5, TimeUnit.SECONDS)) {
                LOGGER.log(System.Logger.Level.WARNING, "Workload API on {0} did not stop within 5 seconds", socket);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        svidWatchers.clear();
        bundleWatchers.clear();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOGGER.log(System.Logger.Level.WARNING, "Failed to delete socket file " + socket, e);
        }
        LOGGER.log(System.Logger.Level.INFO, "Stopped the Workload API for {0} on {1}", spiffeId, address());
    }

    /**
     * The number of open {@code FetchX509SVID} streams.
     *
     * @return the count
     */
    public int svidWatchers() {
        return svidWatchers.size();
    }

    /**
     * The number of open {@code FetchX509Bundles} streams.
     *
     * @return the count
     */
    public int bundleWatchers() {
        return bundleWatchers.size();
    }

    /**
     * The number of X.509-SVID responses sent so far, over all streams.
     *
     * @return the count
     */
    public long svidPushes() {
        return svidPushes.get();
    }

    /**
     * The number of X.509 bundle responses sent so far, over all streams.
     *
     * @return the count
     */
    public long bundlePushes() {
        return bundlePushes.get();
    }

    /**
     * Waits until at least {@code count} {@code FetchX509SVID} streams are open.
     *
     * @param count   the number of streams
     * @param timeout how long to wait
     * @return whether that many were open in time
     * @throws InterruptedException if interrupted while waiting
     */
    public boolean awaitSvidWatchers(int count, Duration timeout) throws InterruptedException {
        return await(() -> svidWatchers.size() >= count, timeout);
    }

    /**
     * Waits until at least {@code count} X.509-SVID responses have been sent in total.
     *
     * @param count   the number of responses
     * @param timeout how long to wait
     * @return whether that many were sent in time
     * @throws InterruptedException if interrupted while waiting
     */
    public boolean awaitSvidPushes(long count, Duration timeout) throws InterruptedException {
        return await(() -> svidPushes.get() >= count, timeout);
    }

    @Override
    public String toString() {
        return "WorkloadEndpoint[" + spiffeId + " on " + address() + "]";
    }

    SvidHolder holder() {
        return holder;
    }

    synchronized void update(IssuedSvid newSvid, List<X509Certificate> bundle, boolean bundleChanged) {
        ByteString bundleDer = ByteString.copyFrom(IssuedSvid.der(bundle));
        svid = newSvid;
        svidResponse = Workload.X509SVIDResponse.newBuilder()
                .addSvids(Workload.X509SVID.newBuilder()
                                  .setSpiffeId(newSvid.spiffeId())
                                  .setX509Svid(ByteString.copyFrom(newSvid.chainDer()))
                                  .setX509SvidKey(ByteString.copyFrom(newSvid.privateKeyDer()))
                                  .setBundle(bundleDer))
                .build();
        for (ServerCallStreamObserver<Workload.X509SVIDResponse> watcher : svidWatchers) {
            send(watcher, svidResponse, svidWatchers, svidPushes);
        }
        if (bundleChanged || bundlesResponse == null) {
            bundlesResponse = Workload.X509BundlesResponse.newBuilder()
                    .putBundles(api.trustDomainId(), bundleDer)
                    .build();
            for (ServerCallStreamObserver<Workload.X509BundlesResponse> watcher : bundleWatchers) {
                send(watcher, bundlesResponse, bundleWatchers, bundlePushes);
            }
        }
    }

    synchronized void watchSvid(StreamObserver<Workload.X509SVIDResponse> responses) {
        watch(responses, svidWatchers, svidResponse, svidPushes);
    }

    synchronized void watchBundles(StreamObserver<Workload.X509BundlesResponse> responses) {
        watch(responses, bundleWatchers, bundlesResponse, bundlePushes);
    }

    private static <T> void watch(StreamObserver<T> responses,
                                  Set<ServerCallStreamObserver<T>> watchers,
                                  T current,
                                  AtomicLong pushes) {
        ServerCallStreamObserver<T> watcher = (ServerCallStreamObserver<T>) responses;
        watcher.setOnCancelHandler(() -> watchers.remove(watcher));
        watchers.add(watcher);
        send(watcher, current, watchers, pushes);
    }

    private static <T> void send(ServerCallStreamObserver<T> watcher,
                                 T response,
                                 Set<ServerCallStreamObserver<T>> watchers,
                                 AtomicLong pushes) {
        if (watcher.isCancelled()) {
            watchers.remove(watcher);
            return;
        }
        try {
            watcher.onNext(response);
            pushes.incrementAndGet();
        } catch (StatusRuntimeException | IllegalStateException e) {
            // The stream ended between the check and the send; the client will open a new one.
            watchers.remove(watcher);
        }
    }

    private void removeStaleSocket() {
        try {
            Files.createDirectories(socket.getParent());
            if (Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                int mode = (Integer) Files.getAttribute(socket, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
                if ((mode & FILE_TYPE_MASK) != SOCKET_FILE_TYPE) {
                    throw new IllegalStateException("Cannot serve the Workload API on " + socket
                            + ": a file that is not a socket is in the way");
                }
                Files.delete(socket);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to prepare the socket path " + socket, e);
        }
    }

    static Path checkSocketPath(Path socket) {
        Path absolute = socket.toAbsolutePath().normalize();
        int bytes = absolute.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_SOCKET_PATH_BYTES) {
            throw new IllegalArgumentException("Socket path " + absolute + " is " + bytes
                    + " bytes long, over the Unix socket limit of " + MAX_SOCKET_PATH_BYTES
                    + " bytes; use a shorter directory such as /tmp/ec-XXXX");
        }
        return absolute;
    }

    private static boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
