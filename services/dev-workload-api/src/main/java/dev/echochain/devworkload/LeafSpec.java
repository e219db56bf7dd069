package dev.echochain.devworkload;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link LocalCa} puts into a leaf certificate.
 *
 * <p>The defaults make a valid X.509-SVID: one URI SAN, not a CA, digitalSignature, serverAuth and clientAuth.
 * Every part can be changed, so tests can also craft certificates that a peer must refuse.
 *
 * @param uriSans           URI subject alternative names, in order; empty for none
 * @param dnsSans           DNS subject alternative names
 * @param ttl               lifetime from now, used when {@code notAfter} is not set
 * @param notBefore         start of validity, or {@code null} for now minus a small backdate
 * @param notAfter          end of validity, or {@code null} for {@code notBefore + ttl}
 * @param ca                whether basicConstraints says CA:true
 * @param digitalSignature  whether keyUsage carries digitalSignature
 * @param serverAuth        whether extendedKeyUsage carries serverAuth
 * @param clientAuth        whether extendedKeyUsage carries clientAuth
 */
public record LeafSpec(List<String> uriSans,
                       List<String> dnsSans,
                       Duration ttl,
                       Instant notBefore,
                       Instant notAfter,
                       boolean ca,
                       boolean digitalSignature,
                       boolean serverAuth,
                       boolean clientAuth) {

    /** The lifetime of a leaf when none is given. */
    public static final Duration DEFAULT_TTL = Duration.ofHours(1);

    /**
     * Checks and copies the parts.
     */
    public LeafSpec {
        uriSans = List.copyOf(uriSans);
        dnsSans = List.copyOf(dnsSans);
        Objects.requireNonNull(ttl, "ttl must not be null");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, got " + ttl);
        }
    }

    /**
     * Starts a spec for a valid X.509-SVID with the given SPIFFE ID as its only URI SAN.
     *
     * @param spiffeId the SPIFFE ID, e.g. {@code spiffe://echo.local/ns/echo/sa/echo-server}
     * @return a builder
     */
    public static Builder builder(String spiffeId) {
        Objects.requireNonNull(spiffeId, "spiffeId must not be null");
        return new Builder().uriSans(spiffeId);
    }

    /**
     * The SPIFFE ID that this leaf names: its first URI SAN, or an empty string when it has none.
     *
     * @return the first URI SAN or {@code ""}
     */
    public String spiffeId() {
        return uriSans.isEmpty() ? "" : uriSans.getFirst();
    }

    /** Builds a {@link LeafSpec}. */
    public static final class Builder {
        private final List<String> uriSans = new ArrayList<>();
        private final List<String> dnsSans = new ArrayList<>();
        private Duration ttl = DEFAULT_TTL;
        private Instant notBefore;
        private Instant notAfter;
        private boolean ca;
        private boolean digitalSignature = true;
        private boolean serverAuth = true;
        private boolean clientAuth = true;

        private Builder() {
        }

        /**
         * Replaces the URI SANs; no argument means a leaf without any URI SAN.
         *
         * @param uris the URIs
         * @return this builder
         */
        public Builder uriSans(String... uris) {
            uriSans.clear();
            uriSans.addAll(List.of(uris));
            return this;
        }

        /**
         * Replaces the DNS SANs.
         *
         * @param names host names, e.g. {@code localhost}
         * @return this builder
         */
        public Builder dnsSans(List<String> names) {
            dnsSans.clear();
            dnsSans.addAll(names);
            return this;
        }

        /**
         * Sets the lifetime, counted from the start of validity.
         *
         * @param ttl a positive duration
         * @return this builder
         */
        public Builder ttl(Duration ttl) {
            this.ttl = Objects.requireNonNull(ttl, "ttl must not be null");
            return this;
        }

        /**
         * Sets the start of validity, for example in the future for a not-yet-valid certificate.
         *
         * @param notBefore the instant
         * @return this builder
         */
        public Builder notBefore(Instant notBefore) {
            this.notBefore = notBefore;
            return this;
        }

        /**
         * Sets the end of validity, for example in the past for an expired certificate.
         *
         * @param notAfter the instant
         * @return this builder
         */
        public Builder notAfter(Instant notAfter) {
            this.notAfter = notAfter;
            return this;
        }

        /**
         * Makes the leaf claim to be a CA, which an X.509-SVID must not.
         *
         * @param ca whether basicConstraints says CA:true
         * @return this builder
         */
        public Builder ca(boolean ca) {
            this.ca = ca;
            return this;
        }

        /**
         * Sets whether keyUsage carries digitalSignature, which an X.509-SVID must.
         *
         * @param digitalSignature the flag
         * @return this builder
         */
        public Builder digitalSignature(boolean digitalSignature) {
            this.digitalSignature = digitalSignature;
            return this;
        }

        /**
         * Sets whether extendedKeyUsage carries serverAuth.
         *
         * @param serverAuth the flag
         * @return this builder
         */
        public Builder serverAuth(boolean serverAuth) {
            this.serverAuth = serverAuth;
            return this;
        }

        /**
         * Sets whether extendedKeyUsage carries clientAuth.
         *
         * @param clientAuth the flag
         * @return this builder
         */
        public Builder clientAuth(boolean clientAuth) {
            this.clientAuth = clientAuth;
            return this;
        }

        /**
         * Builds the spec.
         *
         * @return the spec
         */
        public LeafSpec build() {
            return new LeafSpec(uriSans, dnsSans, ttl, notBefore, notAfter, ca, digitalSignature, serverAuth,
                                clientAuth);
        }
    }
}
