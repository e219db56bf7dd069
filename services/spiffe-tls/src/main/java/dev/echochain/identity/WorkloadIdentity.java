package dev.echochain.identity;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.bundle.x509bundle.X509BundleSet;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.exception.SocketEndpointAddressException;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.DefaultWorkloadApiClient;
import io.spiffe.workloadapi.Watcher;
import io.spiffe.workloadapi.WorkloadApiClient;
import io.spiffe.workloadapi.X509Context;
import io.spiffe.workloadapi.X509Source;
import io.spiffe.workloadapi.retry.ExponentialBackoffPolicy;

/**
 * The workload's current X.509-SVID and trust bundles, kept up to date by a watch on the SPIFFE Workload API.
 *
 * <p>java-spiffe's {@code SpiffeKeyManager} and {@code SpiffeTrustManager} read from this source at every TLS
 * handshake, so a rotated SVID or bundle is used by the next handshake without any reload. Unlike
 * {@code DefaultX509Source}, this source never blocks its creator: a service starts, reports itself not ready, and
 * becomes ready as soon as the first SVID arrives. Each update is logged with the SPIFFE ID, serial and expiry.
 */
public final class WorkloadIdentity implements X509Source {

    private static final System.Logger LOGGER = System.getLogger(WorkloadIdentity.class.getName());

    /*
     * A workload should be ready within a second of the agent's socket appearing, and should cost nothing while it
     * waits. java-spiffe 0.8.17 cannot do either alone: its retry handler waits Duration.getSeconds() between
     * attempts, so a sub-second backoff became a busy loop (about half a core per service during an outage, measured),
     * and its gRPC channel keeps a reconnect backoff of its own that grows to two minutes. So java-spiffe retries once
     * at once (maxRetries 0 would mean no limit there) and then reports the loss, and this class opens a new client,
     * with a new channel, every RECONNECT_DELAY until the Workload API answers again.
     */
    private static final ExponentialBackoffPolicy ONE_RETRY = ExponentialBackoffPolicy.builder()
            .initialDelay(Duration.ZERO)
            .maxDelay(Duration.ZERO)
            .backoffMultiplier(1)
            .maxRetries(1)
            .build();
    private static final Duration RECONNECT_DELAY = Duration.ofMillis(200);

    private final IdentityConfig config;
    private final Clock clock;
    private volatile WorkloadApiClient client;
    private final AtomicReference<X509Svid> svid = new AtomicReference<>();
    private final AtomicReference<X509BundleSet> bundles = new AtomicReference<>();
    private final AtomicLong updates = new AtomicLong();
    private final AtomicLong rotations = new AtomicLong();
    private final CountDownLatch firstSvid = new CountDownLatch(1);
    private final ScheduledExecutorService rewatch = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("workload-api-rewatch").factory());
    private volatile boolean closed;
    private volatile String spiffeId;
    private volatile boolean connected = true;

    private WorkloadIdentity(IdentityConfig config, Clock clock, WorkloadApiClient client) {
        this.config = config;
        this.clock = clock;
        this.client = client;
    }

    /**
     * Connects to the Workload API and starts watching for X.509-SVID updates. Returns at once; use
     * {@link #awaitSvid(Duration)} to wait for the first SVID.
     *
     * @param config where the Workload API lives
     * @return the watching identity source
     * @throws IllegalArgumentException when the Workload API address is malformed
     */
    public static WorkloadIdentity start(IdentityConfig config) {
        return start(config, Clock.systemUTC());
    }

    static WorkloadIdentity start(IdentityConfig config, Clock clock) {
        Objects.requireNonNull(config, "config must not be null");
        WorkloadApiClient client = newClient(config);
        WorkloadIdentity identity = new WorkloadIdentity(config, clock, client);
        LOGGER.log(Level.INFO, "Watching the SPIFFE Workload API at {0}", config.endpointSocket());
        client.watchX509Context(identity.new ContextWatcher(client));
        identity.rewatch.scheduleWithFixedDelay(identity::checkFreshness, 10, 10, TimeUnit.SECONDS);
        return identity;
    }

    /**
     * Waits for the first X.509-SVID, logging once every few seconds while it waits.
     *
     * @param timeout how long to wait at most
     * @return {@code true} when an SVID is held, {@code false} when the timeout passed first
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public boolean awaitSvid(Duration timeout) throws InterruptedException {
        Instant deadline = clock.instant().plus(timeout);
        Duration step = Duration.ofSeconds(5);
        while (true) {
            Duration left = Duration.between(clock.instant(), deadline);
            if (left.isNegative() || left.isZero()) {
                return firstSvid.getCount() == 0;
            }
            if (firstSvid.await(Math.min(left.toMillis(), step.toMillis()), TimeUnit.MILLISECONDS)) {
                return true;
            }
            LOGGER.log(Level.INFO, "Waiting for an X.509-SVID from the Workload API at {0} ({1} s left)",
                    config.endpointSocket(), Math.max(0, Duration.between(clock.instant(), deadline).toSeconds()));
        }
    }

    /**
     * Returns the current X.509-SVID.
     *
     * @return the SVID used for the next handshake
     * @throws IllegalStateException when no SVID has arrived yet, which fails the handshake that asked
     */
    @Override
    public X509Svid getX509Svid() {
        X509Svid current = svid.get();
        if (current == null) {
            throw new IllegalStateException("No X.509-SVID has been received from the Workload API at "
                    + config.endpointSocket() + " yet");
        }
        return current;
    }

    /**
     * Returns the SPIFFE ID of the current X.509-SVID as text, formatted once per SVID rather than per call.
     *
     * @return the workload's own SPIFFE ID, e.g. {@code spiffe://echo.local/ns/echo/sa/echo-server}
     * @throws IllegalStateException when no SVID has arrived yet
     */
    public String spiffeId() {
        String id = spiffeId;
        if (id == null) {
            getX509Svid();
        }
        return id;
    }

    /**
     * Returns the X.509 bundle of a trust domain.
     *
     * @param trustDomain the trust domain of a peer
     * @return its bundle
     * @throws BundleNotFoundException when the Workload API sent no bundle for that trust domain
     */
    @Override
    public X509Bundle getBundleForTrustDomain(TrustDomain trustDomain) throws BundleNotFoundException {
        X509BundleSet set = bundles.get();
        if (set == null) {
            throw new BundleNotFoundException("No X.509 bundle has been received from the Workload API yet");
        }
        return set.getBundleForTrustDomain(trustDomain);
    }

    /**
     * Returns the SVID held now, if any.
     *
     * @return the current SVID, or empty before the first one arrives
     */
    public Optional<X509Svid> currentSvid() {
        return Optional.ofNullable(svid.get());
    }

    /**
     * Tells whether an SVID is held and its leaf certificate is inside its validity period.
     *
     * @return {@code true} when the service can take part in mutual TLS
     */
    public boolean hasValidSvid() {
        X509Svid current = svid.get();
        if (current == null) {
            return false;
        }
        Instant now = clock.instant();
        return !now.isBefore(current.getLeaf().getNotBefore().toInstant())
                && now.isBefore(current.getLeaf().getNotAfter().toInstant());
    }

    /**
     * Seconds until the current SVID expires; negative once it has, and {@code NaN} before the first SVID.
     *
     * @return seconds to expiry
     */
    public double secondsToExpiry() {
        X509Svid current = svid.get();
        if (current == null) {
            return Double.NaN;
        }
        return Duration.between(clock.instant(), current.getLeaf().getNotAfter().toInstant()).toMillis() / 1000.0;
    }

    /**
     * Counts the SVIDs received after the first one.
     *
     * @return rotations seen since start
     */
    public long rotations() {
        return rotations.get();
    }

    /**
     * Counts every update pushed by the Workload API, the first included.
     *
     * @return updates seen since start
     */
    public long updates() {
        return updates.get();
    }

    /**
     * The Workload API address this source watches.
     *
     * @return the address
     */
    public String endpoint() {
        return config.endpointSocket();
    }

    /** Stops the watch and closes the connection to the Workload API. */
    @Override
    public void close() {
        closed = true;
        rewatch.shutdownNow();
        try {
            client.close();
        } catch (IOException e) {
            LOGGER.log(Level.WARNING, "Failed to close the Workload API client cleanly", e);
        }
        LOGGER.log(Level.INFO, "Stopped watching the SPIFFE Workload API at {0}", config.endpointSocket());
    }

    /*
     * SPIRE rotates an SVID at half its lifetime. With three quarters gone and no new SVID, the agent is likely
     * unreachable; java-spiffe keeps reconnecting quietly, so this is where an operator hears of it.
     */
    private void checkFreshness() {
        X509Svid current = svid.get();
        if (current == null) {
            return;
        }
        Instant notBefore = current.getLeaf().getNotBefore().toInstant();
        Instant notAfter = current.getLeaf().getNotAfter().toInstant();
        Instant now = clock.instant();
        Duration lifetime = Duration.between(notBefore, notAfter);
        if (!now.isBefore(notAfter)) {
            LOGGER.log(Level.ERROR, "X.509-SVID {0} expired at {1} and no new one has arrived from the Workload API "
                    + "at {2}; mutual TLS handshakes fail and readiness is down", current.getSpiffeId(), notAfter,
                    config.endpointSocket());
        } else if (now.isAfter(notBefore.plus(lifetime.multipliedBy(3).dividedBy(4)))) {
            LOGGER.log(Level.WARNING, "X.509-SVID {0} expires at {1} and no rotation has arrived from the Workload "
                    + "API at {2}", current.getSpiffeId(), notAfter, config.endpointSocket());
        }
    }

    private void update(X509Context context) {
        X509Svid next = context.getDefaultSvid();
        bundles.set(context.getX509BundleSet());
        // java-spiffe's SpiffeId.toString() runs String.format on every call
        spiffeId = next.getSpiffeId().toString();
        X509Svid previous = svid.getAndSet(next);
        updates.incrementAndGet();
        BigInteger serial = next.getLeaf().getSerialNumber();
        int authorities = context.getX509BundleSet().getBundles().values().stream()
                .mapToInt(bundle -> bundle.getX509Authorities().size())
                .sum();
        if (previous == null) {
            LOGGER.log(Level.INFO, "Received X.509-SVID {0}, serial {1}, expires {2}; trust bundle holds {3} "
                    + "authorities", next.getSpiffeId(), serial.toString(16), next.getLeaf().getNotAfter().toInstant(),
                    authorities);
            firstSvid.countDown();
        } else {
            if (!previous.getLeaf().getSerialNumber().equals(serial)) {
                rotations.incrementAndGet();
            }
            LOGGER.log(Level.INFO, "Rotated X.509-SVID {0}, serial {1} -> {2}, expires {3}; trust bundle holds {4} "
                    + "authorities", next.getSpiffeId(), previous.getLeaf().getSerialNumber().toString(16),
                    serial.toString(16), next.getLeaf().getNotAfter().toInstant(), authorities);
        }
    }

    private static WorkloadApiClient newClient(IdentityConfig config) {
        try {
            return DefaultWorkloadApiClient.newClient(DefaultWorkloadApiClient.ClientOptions.builder()
                    .spiffeSocketPath(config.endpointSocket())
                    .exponentialBackoffPolicy(ONE_RETRY)
                    .build());
        } catch (SocketEndpointAddressException e) {
            throw new IllegalArgumentException("Workload API address '" + config.endpointSocket()
                    + "' is not valid: " + e.getMessage(), e);
        }
    }

    private void reconnect() {
        if (closed) {
            return;
        }
        if (socketMissing()) {
            // no agent socket yet: check again later, without the cost of a new client and channel
            scheduleReconnect();
            return;
        }
        WorkloadApiClient previous = client;
        WorkloadApiClient next = newClient(config);
        client = next;
        try {
            previous.close();
        } catch (IOException e) {
            LOGGER.log(Level.DEBUG, "Failed to close the previous Workload API client", e);
        }
        next.watchX509Context(new ContextWatcher(next));
    }

    private final class ContextWatcher implements Watcher<X509Context> {
        private final WorkloadApiClient owner;

        private ContextWatcher(WorkloadApiClient owner) {
            this.owner = owner;
        }

        @Override
        public void onUpdate(X509Context context) {
            if (!connected) {
                connected = true;
                LOGGER.log(Level.INFO, "Reconnected to the Workload API at {0}", config.endpointSocket());
            }
            update(context);
        }

        @Override
        public void onError(Throwable error) {
            if (closed || owner != client) {
                // a replaced client reports its own closing
                return;
            }
            if (connected) {
                connected = false;
                LOGGER.log(Level.WARNING, "Lost the Workload API at {0} ({1}); keeping the SVID held so far and "
                        + "reconnecting every {2} ms", config.endpointSocket(), rootMessage(error),
                        RECONNECT_DELAY.toMillis());
            }
            scheduleReconnect();
        }
    }

    private void scheduleReconnect() {
        try {
            rewatch.schedule(this::reconnect, RECONNECT_DELAY.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    private boolean socketMissing() {
        String address = config.endpointSocket();
        if (!address.startsWith("unix:")) {
            return false;
        }
        String path = java.net.URI.create(address).getPath();
        return path != null && !java.nio.file.Files.exists(java.nio.file.Path.of(path));
    }

    private static String rootMessage(Throwable error) {
        Throwable root = error;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.toString();
    }
}
