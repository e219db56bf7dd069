package dev.echochain.devworkload;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.spiffe.exception.InvalidSpiffeIdException;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

/**
 * A local SPIFFE Workload API: an in-memory CA for one trust domain and one Unix socket per workload identity.
 *
 * <p>It speaks the real Workload API protocol, so java-spiffe's {@code DefaultX509Source} and every other
 * Workload API client work against it unchanged. SVIDs rotate on their own at a fraction of their lifetime
 * (half by default, as SPIRE does); tests can also force SVID and CA rotations and outages. Instances are
 * thread-safe; {@link #close()} stops every socket and deletes its file.
 *
 * <pre>{@code
 * try (LocalWorkloadApi api = LocalWorkloadApi.builder().trustDomain("echo.local").build()) {
 *     WorkloadEndpoint server = api.addWorkload("spiffe://echo.local/ns/echo/sa/echo-server", dir.resolve("s.sock"));
 *     // SPIFFE_ENDPOINT_SOCKET=server.address()
 * }
 * }</pre>
 */
public final class LocalWorkloadApi implements AutoCloseable {

    private static final System.Logger LOGGER = System.getLogger(LocalWorkloadApi.class.getName());

    private final TrustDomain trustDomain;
    private final Duration svidTtl;
    private final double rotationFraction;
    private final Duration caValidity;
    private final Clock clock;
    private final List<String> dnsSans;
    private final ScheduledExecutorService scheduler;
    private final EpollEventLoopGroup eventLoops;
    private final List<WorkloadEndpoint> endpoints = new CopyOnWriteArrayList<>();
    private final Map<SvidHolder, ScheduledFuture<?>> renewals = new ConcurrentHashMap<>();
    private final Object lock = new Object();

    // guarded by lock; the last one signs
    private final List<LocalCa> authorities = new ArrayList<>();
    private final List<SvidHolder> holders = new ArrayList<>();
    private volatile boolean closed;

    private LocalWorkloadApi(Builder builder) {
        this.trustDomain = LocalCa.parseTrustDomain(builder.trustDomain);
        this.svidTtl = builder.svidTtl;
        this.rotationFraction = builder.rotationFraction;
        this.caValidity = builder.caValidity;
        this.clock = builder.clock;
        this.dnsSans = List.copyOf(builder.dnsSans);
        this.authorities.add(LocalCa.create(trustDomain.getName(), caValidity, clock));

        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "dev-workload-api-rotation");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        this.scheduler = Executors.unconfigurableScheduledExecutorService(executor);
        this.eventLoops = new EpollEventLoopGroup(2, new DefaultThreadFactory("dev-workload-api-io", true));
    }

    /**
     * Starts a builder with the defaults: trust domain {@code echo.local}, SVID lifetime one hour, rotation at
     * half of it.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The trust domain name, e.g. {@code echo.local}.
     *
     * @return the name
     */
    public String trustDomain() {
        return trustDomain.getName();
    }

    /**
     * The lifetime of each SVID it issues.
     *
     * @return the lifetime
     */
    public Duration svidTtl() {
        return svidTtl;
    }

    /**
     * Serves a new Workload API socket for one workload identity, with a freshly issued SVID.
     *
     * @param spiffeId the workload's SPIFFE ID, in this trust domain
     * @param socket   the Unix socket path, at most {@value WorkloadEndpoint#MAX_SOCKET_PATH_BYTES} bytes once
     *                 absolute; its directory is created if missing
     * @return the serving endpoint
     * @throws IllegalArgumentException if the SPIFFE ID or the path is not acceptable
     */
    public WorkloadEndpoint addWorkload(String spiffeId, Path socket) {
        Objects.requireNonNull(socket, "socket must not be null");
        String id = checkSpiffeId(spiffeId);
        WorkloadEndpoint endpoint = new WorkloadEndpoint(this, id, socket);
        synchronized (lock) {
            checkOpen();
            for (WorkloadEndpoint existing : endpoints) {
                if (existing.socket().equals(endpoint.socket())) {
                    throw new IllegalArgumentException("Socket " + endpoint.socket() + " already serves "
                            + existing.spiffeId());
                }
            }
            holders.add(endpoint.holder());
            endpoints.add(endpoint);
            renew(endpoint.holder());
        }
        endpoint.start();
        return endpoint;
    }

    /**
     * Writes {@code svid.pem}, {@code key.pem} (PKCS#8) and {@code bundle.pem} for one identity into a directory,
     * and rewrites them on every rotation, for tools such as curl that read files.
     *
     * @param spiffeId the SPIFFE ID, in this trust domain
     * @param dir      the directory, created if missing
     * @return the files
     */
    public SvidFiles writeSvidFiles(String spiffeId, Path dir) {
        Objects.requireNonNull(dir, "dir must not be null");
        SvidFileSink sink = new SvidFileSink(checkSpiffeId(spiffeId), dir.toAbsolutePath());
        synchronized (lock) {
            checkOpen();
            holders.add(sink);
            renew(sink);
        }
        return sink.files();
    }

    /**
     * The endpoints added so far.
     *
     * @return the endpoints, in the order added
     */
    public List<WorkloadEndpoint> workloads() {
        return List.copyOf(endpoints);
    }

    /**
     * The trust bundle: the CA certificates peers must trust, older first during a CA rotation.
     *
     * @return the CA certificates
     */
    public List<X509Certificate> bundle() {
        synchronized (lock) {
            return bundleLocked();
        }
    }

    /**
     * The CA that signs new SVIDs now, for tests that craft their own certificates with it.
     *
     * @return the current CA
     */
    public LocalCa ca() {
        synchronized (lock) {
            return authorities.getLast();
        }
    }

    /**
     * Issues an X.509-SVID from the current CA with the configured lifetime and DNS SANs, for a client that does not
     * use the Workload API. It is not rotated.
     *
     * @param spiffeId the SPIFFE ID, in this trust domain
     * @return the SVID
     */
    public IssuedSvid issue(String spiffeId) {
        return issueLeaf(checkSpiffeId(spiffeId));
    }

    /**
     * Issues a leaf as the spec says from the current CA; see {@link LocalCa#issue(LeafSpec)}.
     *
     * @param spec what goes into the leaf
     * @return the chain with its key
     */
    public IssuedSvid issue(LeafSpec spec) {
        return ca().issue(spec);
    }

    /**
     * Issues new SVIDs for every workload and SVID directory, and pushes them.
     */
    public void rotateSvids() {
        synchronized (lock) {
            checkOpen();
            for (SvidHolder holder : holders) {
                renew(holder);
            }
        }
    }

    /**
     * Starts a CA rotation: a new CA joins the bundle beside the old one, and every SVID is issued again by the new
     * CA and pushed together with the new bundle. Peers that still hold SVIDs of the old CA stay trusted until
     * {@link #retireOldCa()}.
     *
     * @return the new CA
     */
    public LocalCa rotateCa() {
        synchronized (lock) {
            checkOpen();
            LocalCa next = LocalCa.create(trustDomain.getName(), caValidity, clock);
            authorities.add(next);
            LOGGER.log(System.Logger.Level.INFO, "Rotating CA of {0}: bundle now holds {1} CAs",
                       trustDomain.toIdString(), authorities.size());
            for (SvidHolder holder : holders) {
                renew(holder, true);
            }
            return next;
        }
    }

    /**
     * Ends a CA rotation: the bundle keeps only the newest CA, and every watcher gets it.
     */
    public void retireOldCa() {
        synchronized (lock) {
            checkOpen();
            if (authorities.size() == 1) {
                return;
            }
            LocalCa current = authorities.getLast();
            authorities.clear();
            authorities.add(current);
            LOGGER.log(System.Logger.Level.INFO, "Retired old CAs of {0}: bundle now holds {1} only",
                       trustDomain.toIdString(), current);
            List<X509Certificate> bundle = bundleLocked();
            for (WorkloadEndpoint endpoint : endpoints) {
                endpoint.update(endpoint.currentSvid(), bundle, true);
            }
            for (SvidHolder holder : holders) {
                if (holder instanceof SvidFileSink) {
                    renew(holder, true);
                }
            }
        }
    }

    /**
     * Stops every socket, deletes the socket files and stops rotating. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        scheduler.shutdownNow();
        renewals.clear();
        for (WorkloadEndpoint endpoint : endpoints) {
            endpoint.stop();
        }
        eventLoops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        LOGGER.log(System.Logger.Level.INFO, "Closed the local Workload API of {0}", trustDomain.toIdString());
    }

    IssuedSvid renew(SvidHolder holder) {
        return renew(holder, false);
    }

    EpollEventLoopGroup eventLoops() {
        return eventLoops;
    }

    String trustDomainId() {
        return trustDomain.toIdString();
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("The local Workload API of " + trustDomain.toIdString() + " is closed");
        }
    }

    private IssuedSvid renew(SvidHolder holder, boolean bundleChanged) {
        synchronized (lock) {
            checkOpen();
            IssuedSvid svid = issueLeaf(holder.spiffeId());
            holder.update(svid, bundleLocked(), bundleChanged);
            scheduleRenewal(holder);
            return svid;
        }
    }

    private void scheduleRenewal(SvidHolder holder) {
        long delay = (long) (svidTtl.toNanos() * rotationFraction);
        ScheduledFuture<?> next = scheduler.schedule(() -> renewOnSchedule(holder), delay, TimeUnit.NANOSECONDS);
        ScheduledFuture<?> previous = renewals.put(holder, next);
        if (previous != null) {
            previous.cancel(false);
        }
    }

    private void renewOnSchedule(SvidHolder holder) {
        if (closed) {
            return;
        }
        try {
            renew(holder);
        } catch (RuntimeException e) {
            if (!closed) {
                LOGGER.log(System.Logger.Level.ERROR, "Failed to rotate the SVID of " + holder.spiffeId(), e);
            }
        }
    }

    private IssuedSvid issueLeaf(String spiffeId) {
        return ca().issue(LeafSpec.builder(spiffeId).ttl(svidTtl).dnsSans(dnsSans).build());
    }

    private List<X509Certificate> bundleLocked() {
        return authorities.stream().map(LocalCa::certificate).toList();
    }

    private String checkSpiffeId(String spiffeId) {
        return checkSpiffeId(spiffeId, trustDomain);
    }

    static String checkSpiffeId(String spiffeId, TrustDomain trustDomain) {
        Objects.requireNonNull(spiffeId, "spiffeId must not be null");
        SpiffeId parsed;
        try {
            parsed = SpiffeId.parse(spiffeId);
        } catch (IllegalArgumentException | InvalidSpiffeIdException e) {
            throw new IllegalArgumentException("Invalid SPIFFE ID \"" + spiffeId
                    + "\": expected spiffe://" + trustDomain.getName() + "/<path> (" + e.getMessage() + ")", e);
        }
        if (!parsed.getTrustDomain().equals(trustDomain)) {
            throw new IllegalArgumentException("SPIFFE ID " + spiffeId + " is not in trust domain "
                    + trustDomain.getName() + " of this Workload API");
        }
        if (parsed.getPath().isEmpty()) {
            throw new IllegalArgumentException("SPIFFE ID " + spiffeId
                    + " has no path: a workload ID needs one, such as spiffe://" + trustDomain.getName()
                    + "/ns/echo/sa/echo-server");
        }
        return parsed.toString();
    }

    /** Builds a {@link LocalWorkloadApi}. */
    public static final class Builder {
        private String trustDomain = "echo.local";
        private Duration svidTtl = Duration.ofHours(1);
        private double rotationFraction = 0.5;
        private Duration caValidity = LocalCa.DEFAULT_CA_VALIDITY;
        private Clock clock = Clock.systemUTC();
        private List<String> dnsSans = List.of();

        private Builder() {
        }

        /**
         * Sets the trust domain name.
         *
         * @param trustDomain e.g. {@code echo.local}
         * @return this builder
         */
        public Builder trustDomain(String trustDomain) {
            this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain must not be null");
            return this;
        }

        /**
         * Sets the lifetime of each SVID.
         *
         * @param svidTtl a positive duration
         * @return this builder
         */
        public Builder svidTtl(Duration svidTtl) {
            Objects.requireNonNull(svidTtl, "svidTtl must not be null");
            if (svidTtl.isNegative() || svidTtl.isZero()) {
                throw new IllegalArgumentException("svidTtl must be positive, got " + svidTtl);
            }
            this.svidTtl = svidTtl;
            return this;
        }

        /**
         * Sets when an SVID is replaced, as a fraction of its lifetime.
         *
         * @param rotationFraction more than 0 and less than 1; 0.5 by default
         * @return this builder
         */
        public Builder rotationFraction(double rotationFraction) {
            if (!(rotationFraction > 0 && rotationFraction < 1)) {
                throw new IllegalArgumentException("rotationFraction must be between 0 and 1 (exclusive), got "
                        + rotationFraction);
            }
            this.rotationFraction = rotationFraction;
            return this;
        }

        /**
         * Sets the lifetime of each CA certificate.
         *
         * @param caValidity a positive duration
         * @return this builder
         */
        public Builder caValidity(Duration caValidity) {
            this.caValidity = Objects.requireNonNull(caValidity, "caValidity must not be null");
            return this;
        }

        /**
         * Sets the clock for validity periods.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock must not be null");
            return this;
        }

        /**
         * Adds DNS SANs to every SVID it hands out, as SPIRE does for registration entries with DNS names; for
         * example {@code localhost}, so that curl can check the host name of a local service.
         *
         * @param dnsSans host names
         * @return this builder
         */
        public Builder dnsSans(List<String> dnsSans) {
            this.dnsSans = List.copyOf(dnsSans);
            return this;
        }

        /**
         * Creates the Workload API with its first CA; no socket serves until {@link #addWorkload} is called.
         *
         * @return the Workload API
         */
        public LocalWorkloadApi build() {
            return new LocalWorkloadApi(this);
        }
    }
}
