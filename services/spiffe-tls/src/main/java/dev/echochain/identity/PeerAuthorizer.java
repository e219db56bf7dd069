package dev.echochain.identity;

import java.lang.System.Logger.Level;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.exception.InvalidSpiffeIdException;
import io.spiffe.provider.SpiffeTrustManager;
import io.spiffe.spiffeid.SpiffeId;

/**
 * A trust manager that accepts a TLS peer only when its X.509-SVID verifies against the Workload API's bundle and
 * its SPIFFE ID is on an exact allowlist. Host names play no part.
 *
 * <p>The verdict is java-spiffe's {@link SpiffeTrustManager}; this class adds a reason to every refusal, counts
 * verdicts in the {@code tls.handshakes} metric, and logs refusals at WARNING.
 */
public final class PeerAuthorizer extends X509ExtendedTrustManager {

    private static final System.Logger LOGGER = System.getLogger(PeerAuthorizer.class.getName());

    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_CERT_SIGN = 5;
    private static final int CRL_SIGN = 6;

    private final String name;
    private final Set<SpiffeId> allowed;
    private final WorkloadIdentity identity;
    private final SpiffeTrustManager delegate;
    private final Clock clock;
    private final AtomicLong accepted = new AtomicLong();
    private final Map<RejectReason, LongAdder> rejected = new EnumMap<>(RejectReason.class);
    private final Counter acceptedCounter;
    private final Map<RejectReason, Counter> rejectedCounters = new EnumMap<>(RejectReason.class);

    private PeerAuthorizer(String name, Set<SpiffeId> allowed, WorkloadIdentity identity, Clock clock) {
        this.name = name;
        this.allowed = Set.copyOf(allowed);
        this.identity = identity;
        this.clock = clock;
        this.delegate = new SpiffeTrustManager(identity, () -> this.allowed);
        this.acceptedCounter = counter("accepted", "none");
        for (RejectReason reason : RejectReason.values()) {
            rejected.put(reason, new LongAdder());
            rejectedCounters.put(reason, counter("rejected", reason.label()));
        }
    }

    /**
     * Creates an authorizer for one listener or one outbound client.
     *
     * @param name     what it guards, used in logs and as the metric's {@code peer} tag, e.g. {@code callers}
     * @param allowed  the exact SPIFFE IDs that may connect; must not be empty
     * @param identity the source of the trust bundle
     * @return the authorizer
     * @throws IllegalArgumentException when the allowlist is empty
     */
    public static PeerAuthorizer create(String name, Set<SpiffeId> allowed, WorkloadIdentity identity) {
        Objects.requireNonNull(name, "name must not be null");
        Objects.requireNonNull(allowed, "allowed must not be null");
        Objects.requireNonNull(identity, "identity must not be null");
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException("The allowlist of " + name + " is empty: name at least one SPIFFE ID");
        }
        return new PeerAuthorizer(name, allowed, identity, Clock.systemUTC());
    }

    /**
     * Parses a comma-separated list of SPIFFE IDs, as the allowlist settings hold them.
     *
     * @param setting the configuration key, named in errors
     * @param values  the IDs, e.g. {@code spiffe://echo.local/ns/echo/sa/echo-gateway}
     * @return the parsed IDs
     * @throws IllegalArgumentException naming the setting and the bad value when an ID is malformed
     */
    public static Set<SpiffeId> parseIds(String setting, List<String> values) {
        Set<SpiffeId> ids = values.stream()
                .flatMap(value -> List.of(value.split(",")).stream())
                .map(String::trim)
                .filter(value -> !value.isEmpty())
                .map(value -> {
                    try {
                        return SpiffeId.parse(value);
                    } catch (InvalidSpiffeIdException | IllegalArgumentException e) {
                        throw new IllegalArgumentException(setting + " holds '" + value + "', which is not a SPIFFE "
                                + "ID (expected spiffe://<trust domain>/<path>): " + e.getMessage(), e);
                    }
                })
                .collect(Collectors.toUnmodifiableSet());
        if (ids.isEmpty()) {
            throw new IllegalArgumentException(setting + " is empty: name at least one SPIFFE ID");
        }
        return ids;
    }

    /**
     * The exact SPIFFE IDs this authorizer accepts.
     *
     * @return the allowlist
     */
    public Set<SpiffeId> allowed() {
        return allowed;
    }

    /**
     * Counts peers accepted since start.
     *
     * @return accepted handshakes
     */
    public long accepted() {
        return accepted.get();
    }

    /**
     * Counts peers refused for one reason since start.
     *
     * @param reason the reason
     * @return refused handshakes
     */
    public long rejected(RejectReason reason) {
        return rejected.get(reason).sum();
    }

    /*
     * Refusals the JDK makes before any trust manager runs (no client certificate, an old TLS version, not TLS at
     * all), as HandshakeWatch sees them around the TLS engine.
     */
    void refusedBeforeVerification(RejectReason reason, String peerAddress, String detail) {
        rejected.get(reason).increment();
        rejectedCounters.get(reason).increment();
        LOGGER.log(Level.WARNING, "Refused TLS peer at {0} from {1}: {2} ({3})", name, peerAddress, reason.label(),
                detail);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, () -> delegate.checkClientTrusted(chain, authType));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, () -> delegate.checkClientTrusted(chain, authType, socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, () -> delegate.checkClientTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, () -> delegate.checkServerTrusted(chain, authType));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, () -> delegate.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, () -> delegate.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }

    private void verify(X509Certificate[] chain, Check check) throws CertificateException {
        try {
            checkLeaf(chain);
            check.run();
        } catch (CertificateException | RuntimeException e) {
            RejectReason reason = classify(chain);
            rejected.get(reason).increment();
            rejectedCounters.get(reason).increment();
            Optional<SpiffeId> peer = PeerIds.fromChain(chain);
            LOGGER.log(Level.WARNING, "Refused TLS peer {0} at {1}: {2} ({3})",
                    peer.map(SpiffeId::toString).orElse("<no SPIFFE ID>"), name, reason.label(), e.getMessage());
            if (e instanceof CertificateException ce) {
                throw ce;
            }
            throw new CertificateException(reason.label() + ": " + e.getMessage(), e);
        }
        accepted.incrementAndGet();
        acceptedCounter.increment();
    }

    private RejectReason classify(X509Certificate[] chain) {
        if (chain == null || chain.length == 0) {
            return RejectReason.NO_CERTIFICATE;
        }
        X509Certificate leaf = chain[0];
        Optional<SpiffeId> id = PeerIds.fromChain(chain);
        if (id.isEmpty() || leafViolation(leaf).isPresent()) {
            return RejectReason.NOT_AN_SVID;
        }
        try {
            identity.getBundleForTrustDomain(id.get().getTrustDomain());
        } catch (BundleNotFoundException e) {
            return RejectReason.FOREIGN_TRUST_DOMAIN;
        }
        java.util.Date now = java.util.Date.from(clock.instant());
        if (now.after(leaf.getNotAfter())) {
            return RejectReason.EXPIRED;
        }
        if (now.before(leaf.getNotBefore())) {
            return RejectReason.NOT_YET_VALID;
        }
        if (!allowed.contains(id.get())) {
            return RejectReason.ID_NOT_ALLOWED;
        }
        return RejectReason.UNTRUSTED_CHAIN;
    }

    /*
     * The X.509-SVID spec (section 4) forbids a leaf that is a CA or may sign certificates or CRLs, and requires
     * digitalSignature. java-spiffe's SpiffeTrustManager checks the chain and the ID but not these, so a CA
     * certificate of the trust domain with a SPIFFE ID would pass as a peer.
     */
    private static void checkLeaf(X509Certificate[] chain) throws CertificateException {
        if (chain != null && chain.length > 0) {
            Optional<String> violation = leafViolation(chain[0]);
            if (violation.isPresent()) {
                throw new CertificateException("the peer's leaf certificate is not an X.509-SVID: " + violation.get());
            }
        }
    }

    private static Optional<String> leafViolation(X509Certificate leaf) {
        if (leaf.getBasicConstraints() >= 0) {
            return Optional.of("it is a CA certificate");
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage == null || !usage[DIGITAL_SIGNATURE]) {
            return Optional.of("its key usage lacks digitalSignature");
        }
        if (usage[KEY_CERT_SIGN] || usage[CRL_SIGN]) {
            return Optional.of("its key usage allows signing certificates or CRLs");
        }
        if (PeerIds.uriSans(leaf).size() != 1) {
            return Optional.of("it has " + PeerIds.uriSans(leaf).size() + " URI SANs instead of one");
        }
        return Optional.empty();
    }

    private Counter counter(String result, String reason) {
        return Metrics.globalRegistry().getOrCreate(Counter.builder("tls.handshakes")
                .description("TLS peers verified by SPIFFE ID, by result and reason of refusal")
                .tags(List.of(Tag.create("peer", name), Tag.create("result", result), Tag.create("reason", reason))));
    }

    @FunctionalInterface
    private interface Check {
        void run() throws CertificateException;
    }
}
