package dev.echochain.identity;

import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import io.spiffe.exception.InvalidSpiffeIdException;
import io.spiffe.spiffeid.SpiffeId;

/** Reads SPIFFE IDs out of X.509 certificates. */
public final class PeerIds {

    private static final int URI_NAME = 6;

    private PeerIds() {
    }

    /**
     * Returns the SPIFFE ID of the leaf of a peer's certificate chain, as a TLS connection presents it.
     *
     * @param chain the peer's certificates, leaf first; may be {@code null} or empty
     * @return the leaf's SPIFFE ID, or empty when there is no leaf or it does not carry exactly one SPIFFE URI
     */
    public static Optional<SpiffeId> fromChain(Certificate[] chain) {
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            return Optional.empty();
        }
        List<String> uris = uriSans(leaf);
        if (uris.size() != 1) {
            return Optional.empty();
        }
        try {
            return Optional.of(SpiffeId.parse(uris.getFirst()));
        } catch (InvalidSpiffeIdException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Lists the URI subject alternative names of a certificate.
     *
     * @param certificate the certificate
     * @return its URI SANs, empty when it has none or they cannot be parsed
     */
    public static List<String> uriSans(X509Certificate certificate) {
        List<String> uris = new ArrayList<>();
        try {
            Collection<List<?>> names = certificate.getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> name : names) {
                    if (name.size() == 2 && Integer.valueOf(URI_NAME).equals(name.get(0))) {
                        uris.add(String.valueOf(name.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return List.of();
        }
        return uris;
    }
}
