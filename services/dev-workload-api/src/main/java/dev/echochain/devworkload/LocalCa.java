package dev.echochain.devworkload;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import io.spiffe.exception.InvalidSpiffeIdException;
import io.spiffe.spiffeid.TrustDomain;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An in-memory certificate authority for one SPIFFE trust domain, with EC P-256 keys.
 *
 * <p>Its CA certificate carries the trust domain's SPIFFE ID ({@code spiffe://<trust domain>}) as URI SAN.
 * It issues X.509-SVIDs signed directly by that certificate, and from a {@link LeafSpec} any leaf a test needs,
 * including ones a peer must refuse. Keys never leave the process except through {@link IssuedSvid}.
 * Instances are thread-safe.
 */
public final class LocalCa {

    /** The lifetime of a CA certificate when none is given. */
    public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(365);

    private static final System.Logger LOGGER = System.getLogger(LocalCa.class.getName());

    // Start of validity lies a little in the past so that peers with a slightly late clock accept a new certificate.
    private static final Duration BACKDATE = Duration.ofSeconds(10);
    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final TrustDomain trustDomain;
    private final Clock clock;
    private final KeyPair keyPair;
    private final X509Certificate certificate;

    private LocalCa(TrustDomain trustDomain, Duration validity, Clock clock) {
        this.trustDomain = trustDomain;
        this.clock = clock;
        this.keyPair = newKeyPair();

        Instant now = clock.instant();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "echo-chain dev-workload-api")
                .addRDN(BCStyle.CN, trustDomain.getName() + " CA " + HexFormat.of().toHexDigits(RANDOM.nextInt()))
                .build();
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    subject, serial(), Date.from(now.minus(BACKDATE)), Date.from(now.plus(validity)),
                    subject, keyPair.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                                  utils.createSubjectKeyIdentifier(keyPair.getPublic()))
                    .addExtension(Extension.subjectAlternativeName, false,
                                  new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                                                                   trustDomain.toIdString())));
            this.certificate = sign(builder, keyPair);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("Failed to create the CA certificate for " + trustDomain, e);
        }
        LOGGER.log(System.Logger.Level.INFO, "Created CA for {0}, serial {1}, expires {2}",
                   trustDomain.toIdString(), certificate.getSerialNumber().toString(16),
                   certificate.getNotAfter().toInstant());
    }

    /**
     * Creates a CA for a trust domain, valid for {@link #DEFAULT_CA_VALIDITY}.
     *
     * @param trustDomain the trust domain name, e.g. {@code echo.local}
     * @return the CA
     */
    public static LocalCa create(String trustDomain) {
        return create(trustDomain, DEFAULT_CA_VALIDITY, Clock.systemUTC());
    }

    /**
     * Creates a CA for a trust domain.
     *
     * @param trustDomain the trust domain name, e.g. {@code echo.local}
     * @param validity    lifetime of the CA certificate
     * @param clock       the clock for validity periods of the CA and of its leaves
     * @return the CA
     */
    public static LocalCa create(String trustDomain, Duration validity, Clock clock) {
        Objects.requireNonNull(trustDomain, "trustDomain must not be null");
        Objects.requireNonNull(validity, "validity must not be null");
        Objects.requireNonNull(clock, "clock must not be null");
        return new LocalCa(parseTrustDomain(trustDomain), validity, clock);
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
     * The CA certificate: the trust anchor a peer puts into its bundle.
     *
     * @return the certificate
     */
    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * Issues a valid X.509-SVID.
     *
     * @param spiffeId the SPIFFE ID, which may belong to another trust domain only on purpose
     * @param ttl      its lifetime
     * @return the SVID
     */
    public IssuedSvid issue(String spiffeId, Duration ttl) {
        return issue(LeafSpec.builder(spiffeId).ttl(ttl).build());
    }

    /**
     * Issues a leaf certificate as the spec says, signed by this CA, with a fresh P-256 key and a random serial.
     *
     * <p>Unless the spec sets {@code notAfter}, the leaf expires no later than this CA.
     *
     * @param spec what goes into the leaf
     * @return the chain (the leaf alone) with its key
     */
    public IssuedSvid issue(LeafSpec spec) {
        Objects.requireNonNull(spec, "spec must not be null");
        KeyPair leafKeys = newKeyPair();
        Instant notBefore = spec.notBefore() != null ? spec.notBefore() : clock.instant().minus(BACKDATE);
        Instant notAfter = spec.notAfter();
        if (notAfter == null) {
            notAfter = notBefore.plus(BACKDATE).plus(spec.ttl());
            Instant caEnd = certificate.getNotAfter().toInstant();
            if (notAfter.isAfter(caEnd)) {
                notAfter = caEnd;
            }
        }

        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "echo-chain dev-workload-api")
                .build();
        List<GeneralName> names = new ArrayList<>();
        spec.uriSans().forEach(uri -> names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
        spec.dnsSans().forEach(dns -> names.add(new GeneralName(GeneralName.dNSName, dns)));
        int usage = spec.ca() ? KeyUsage.keyCertSign | KeyUsage.cRLSign : 0;
        if (spec.digitalSignature()) {
            usage |= KeyUsage.digitalSignature;
        }
        List<KeyPurposeId> purposes = new ArrayList<>();
        if (spec.serverAuth()) {
            purposes.add(KeyPurposeId.id_kp_serverAuth);
        }
        if (spec.clientAuth()) {
            purposes.add(KeyPurposeId.id_kp_clientAuth);
        }

        X509Certificate leaf;
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    certificate, serial(), Date.from(notBefore), Date.from(notAfter), subject, leafKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(spec.ca()))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                                  utils.createSubjectKeyIdentifier(leafKeys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                                  utils.createAuthorityKeyIdentifier(certificate));
            if (usage != 0) {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
            }
            if (!purposes.isEmpty()) {
                builder.addExtension(Extension.extendedKeyUsage, false,
                                     new ExtendedKeyUsage(purposes.toArray(KeyPurposeId[]::new)));
            }
            if (!names.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                                     new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            leaf = sign(builder, keyPair);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("Failed to issue a certificate for " + spec.spiffeId(), e);
        }
        LOGGER.log(System.Logger.Level.INFO, "Issued X.509-SVID for {0}, serial {1}, expires {2}",
                   spec.spiffeId().isEmpty() ? "(no URI SAN)" : spec.spiffeId(),
                   leaf.getSerialNumber().toString(16), leaf.getNotAfter().toInstant());
        return new IssuedSvid(spec.spiffeId(), List.of(leaf), leafKeys.getPrivate());
    }

    @Override
    public String toString() {
        return "LocalCa[" + trustDomain.toIdString() + ", serial " + certificate.getSerialNumber().toString(16) + "]";
    }

    static TrustDomain parseTrustDomain(String name) {
        try {
            TrustDomain parsed = TrustDomain.parse(name);
            if (!parsed.getName().equals(name.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("expected a bare name");
            }
            return parsed;
        } catch (IllegalArgumentException | InvalidSpiffeIdException e) {
            throw new IllegalArgumentException("Invalid trust domain \"" + name
                    + "\": expected a name like echo.local (lowercase letters, digits, '.', '-', '_')", e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
            throws GeneralSecurityException {
        try {
            ContentSigner contentSigner = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signer.getPrivate());
            return new JcaX509CertificateConverter().getCertificate(builder.build(contentSigner));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("Failed to create a " + SIGNATURE_ALGORITHM + " signer", e);
        }
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Failed to generate an EC P-256 key pair", e);
        }
    }

    // A positive serial of up to 127 random bits, never zero, within the 20 octets RFC 5280 allows.
    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }
}
