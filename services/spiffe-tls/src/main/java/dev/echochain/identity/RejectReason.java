package dev.echochain.identity;

import java.util.Locale;

/** Why a TLS peer was refused; each reason is a label value of the rejected-handshake metric. */
public enum RejectReason {
    /** The peer presented no certificate. */
    NO_CERTIFICATE,
    /** The leaf is not a valid X.509-SVID: no or several URI SANs, a CA certificate, or a malformed ID. */
    NOT_AN_SVID,
    /** The peer's SPIFFE ID belongs to a trust domain for which no bundle is held. */
    FOREIGN_TRUST_DOMAIN,
    /** The peer's leaf certificate has expired. */
    EXPIRED,
    /** The peer's leaf certificate is not valid yet. */
    NOT_YET_VALID,
    /** The chain does not verify against the trust bundle. */
    UNTRUSTED_CHAIN,
    /** The chain verifies, but the SPIFFE ID is not on this listener's or client's allowlist. */
    ID_NOT_ALLOWED,
    /** The peer offered only TLS versions this side does not accept (TLS 1.3 only). */
    PROTOCOL_VERSION,
    /** The peer did not speak TLS at all, e.g. plaintext HTTP or gRPC sent to a TLS port. */
    NOT_TLS,
    /** The peer did not complete its handshake in time, e.g. it connected and went silent. */
    HANDSHAKE_TIMEOUT;

    /**
     * The metric label value, e.g. {@code id_not_allowed}.
     *
     * @return the lower-case label
     */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
