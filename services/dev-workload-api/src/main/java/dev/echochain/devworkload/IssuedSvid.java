package dev.echochain.devworkload;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A certificate chain with its private key, as issued by a {@link LocalCa}.
 *
 * <p>Usually a valid X.509-SVID; a hostile {@link LeafSpec} can make it anything else.
 */
public final class IssuedSvid {

    private static final String ALIAS = "svid";

    private final String spiffeId;
    private final List<X509Certificate> chain;
    private final PrivateKey privateKey;

    IssuedSvid(String spiffeId, List<X509Certificate> chain, PrivateKey privateKey) {
        this.spiffeId = Objects.requireNonNull(spiffeId);
        this.chain = List.copyOf(chain);
        this.privateKey = Objects.requireNonNull(privateKey);
    }

    /**
     * The SPIFFE ID: the leaf's first URI SAN, or an empty string when it has none.
     *
     * @return the SPIFFE ID
     */
    public String spiffeId() {
        return spiffeId;
    }

    /**
     * The certificate chain, leaf first; the signing CA is not part of it.
     *
     * @return the chain
     */
    public List<X509Certificate> chain() {
        return chain;
    }

    /**
     * The leaf certificate.
     *
     * @return the leaf
     */
    public X509Certificate leaf() {
        return chain.getFirst();
    }

    /**
     * The private key of the leaf.
     *
     * @return the key
     */
    public PrivateKey privateKey() {
        return privateKey;
    }

    /**
     * The leaf's serial number.
     *
     * @return the serial
     */
    public BigInteger serial() {
        return leaf().getSerialNumber();
    }

    /**
     * The leaf's start of validity.
     *
     * @return the instant
     */
    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    /**
     * The leaf's end of validity.
     *
     * @return the instant
     */
    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    /**
     * The chain as concatenated DER, the form of the Workload API's {@code x509_svid} field.
     *
     * @return DER bytes
     */
    public byte[] chainDer() {
        return der(chain);
    }

    /**
     * The private key as PKCS#8 DER, the form of the Workload API's {@code x509_svid_key} field.
     *
     * @return DER bytes
     */
    public byte[] privateKeyDer() {
        return privateKey.getEncoded();
    }

    /**
     * An in-memory PKCS12 key store holding this chain and key under the alias {@code svid}.
     *
     * @param password the store and key password
     * @return the key store
     */
    public KeyStore keyStore(char[] password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, password);
            store.setKeyEntry(ALIAS, privateKey, password, chain.toArray(X509Certificate[]::new));
            return store;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("Failed to build a PKCS12 key store for " + spiffeId, e);
        }
    }

    /**
     * A TLS context that presents this chain and trusts the given CA certificates, with the JDK's own
     * key and trust managers (PKIX, no SPIFFE ID check).
     *
     * @param trustAnchors CA certificates to trust, e.g. {@link LocalWorkloadApi#bundle()}
     * @return an initialised {@code SSLContext} for protocol "TLS"
     */
    public SSLContext sslContext(Collection<X509Certificate> trustAnchors) {
        try {
            char[] password = "local".toCharArray();
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keyStore(password), password);

            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, password);
            int i = 0;
            for (X509Certificate anchor : trustAnchors) {
                anchors.setCertificateEntry("ca-" + i++, anchor);
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(anchors);

            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("Failed to build a TLS context for " + spiffeId, e);
        }
    }

    /**
     * Writes {@code svid.pem}, {@code key.pem} (PKCS#8) and {@code bundle.pem} into a directory.
     *
     * @param dir    the directory, created if missing
     * @param bundle the CA certificates for {@code bundle.pem}
     * @return the written files
     */
    public SvidFiles writePem(Path dir, Collection<X509Certificate> bundle) {
        SvidFiles files = SvidFiles.in(dir);
        Pem.writePrivateKey(files.key(), privateKey);
        Pem.writeCertificates(files.svid(), chain);
        Pem.writeCertificates(files.bundle(), bundle);
        return files;
    }

    /**
     * Concatenates the DER encodings of certificates, the form the Workload API uses for chains and bundles.
     *
     * @param certificates the certificates
     * @return DER bytes
     */
    public static byte[] der(Collection<X509Certificate> certificates) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            for (X509Certificate certificate : certificates) {
                out.writeBytes(certificate.getEncoded());
            }
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("Failed to DER-encode a certificate", e);
        }
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "IssuedSvid[" + spiffeId + ", serial " + serial().toString(16) + ", expires " + notAfter() + "]";
    }
}
