package dev.echochain.devworkload;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.exception.X509SvidException;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.svid.x509svid.X509SvidValidator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The in-memory CA, judged by java-spiffe's own SVID rules and by the JDK's TLS.
 */
class LocalCaTest {

    private static final String SERVER = "spiffe://echo.local/ns/echo/sa/echo-server";
    private static final String GATEWAY = "spiffe://echo.local/ns/echo/sa/echo-gateway";

    private final LocalCa ca = LocalCa.create("echo.local");
    private final X509Bundle bundle = new X509Bundle(TrustDomain.parse("echo.local"), Set.of(ca.certificate()));

    @Test
    @Timeout(10)
    void issuedSvidPassesJavaSpiffeRulesAndVerifiesAgainstTheCa() throws Exception {
        IssuedSvid issued = ca.issue(SERVER, Duration.ofMinutes(10));

        X509Svid svid = X509Svid.parseRaw(issued.chainDer(), issued.privateKeyDer());

        assertThat(svid.getSpiffeId().toString(), is(SERVER));
        X509SvidValidator.verifyChain(svid.getChain(), bundle);
        assertThat(issued.leaf().getExtendedKeyUsage(),
                   is(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")));
        assertThat(issued.leaf().getPublicKey().getAlgorithm(), is("EC"));
    }

    @Test
    @Timeout(10)
    void caCertificateNamesTheTrustDomain() throws Exception {
        assertThat(ca.certificate().getSubjectAlternativeNames().iterator().next().get(1), is("spiffe://echo.local"));
        assertThat(ca.certificate().getBasicConstraints(), not(-1));
    }

    @Test
    @Timeout(10)
    void eachSvidHasItsOwnKeyAndSerial() {
        IssuedSvid first = ca.issue(SERVER, Duration.ofMinutes(10));
        IssuedSvid second = ca.issue(SERVER, Duration.ofMinutes(10));

        assertThat(second.serial(), not(first.serial()));
        assertThat(second.leaf().getPublicKey(), not(first.leaf().getPublicKey()));
    }

    @Test
    @Timeout(10)
    void expiredAndNotYetValidLeavesFailVerification() {
        Instant now = Instant.now();
        IssuedSvid expired = ca.issue(LeafSpec.builder(SERVER)
                                              .notBefore(now.minus(Duration.ofHours(2)))
                                              .notAfter(now.minus(Duration.ofHours(1)))
                                              .build());
        IssuedSvid early = ca.issue(LeafSpec.builder(SERVER).notBefore(now.plus(Duration.ofHours(1))).build());

        assertThrows(CertificateException.class, () -> X509SvidValidator.verifyChain(expired.chain(), bundle));
        assertThrows(CertificateException.class, () -> X509SvidValidator.verifyChain(early.chain(), bundle));
    }

    @Test
    @Timeout(10)
    void leavesThatBreakSvidRulesAreRefusedByJavaSpiffe() {
        IssuedSvid twoUris = ca.issue(LeafSpec.builder(SERVER).uriSans(SERVER, GATEWAY).build());
        IssuedSvid noUri = ca.issue(LeafSpec.builder(SERVER).uriSans().build());
        IssuedSvid caLeaf = ca.issue(LeafSpec.builder(SERVER).ca(true).build());
        IssuedSvid noSignature = ca.issue(LeafSpec.builder(SERVER).digitalSignature(false).build());

        assertThat(refusal(twoUris), containsString("exactly one URI SAN"));
        assertThat(refusal(noUri), containsString("URI SAN"));
        assertThat(refusal(caLeaf), containsString("must not have CA flag"));
        assertThat(refusal(noSignature), containsString("digitalSignature"));
        assertThat(noUri.spiffeId(), is(""));
    }

    @Test
    @Timeout(10)
    void svidOfAnotherTrustDomainDoesNotVerifyAgainstThisBundle() {
        LocalCa other = LocalCa.create("other.test");
        IssuedSvid foreign = other.issue("spiffe://other.test/ns/echo/sa/echo-gateway", Duration.ofMinutes(10));
        // Same trust domain name in the URI, wrong signer: the chain must not verify.
        IssuedSvid impostor = other.issue(GATEWAY, Duration.ofMinutes(10));

        assertThrows(Exception.class, () -> X509SvidValidator.verifyChain(foreign.chain(), bundle));
        assertThrows(CertificateException.class, () -> X509SvidValidator.verifyChain(impostor.chain(), bundle));
    }

    @Test
    @Timeout(10)
    void writesPemFilesThatJavaSpiffeReadsBack() throws Exception {
        Path dir = TestDirs.create();
        try {
            IssuedSvid issued = ca.issue(SERVER, Duration.ofMinutes(10));

            SvidFiles files = issued.writePem(dir, List.of(ca.certificate()));

            assertThat(Files.readString(files.key()), containsString("-----BEGIN PRIVATE KEY-----"));
            X509Svid loaded = X509Svid.load(files.svid(), files.key());
            assertThat(loaded.getLeaf(), is(issued.leaf()));
            X509Bundle loadedBundle = X509Bundle.load(TrustDomain.parse("echo.local"), files.bundle());
            assertThat(loadedBundle.getX509Authorities(), is(Set.of(ca.certificate())));
            assertThat(Files.getPosixFilePermissions(files.key()).toString(), is("[OWNER_READ, OWNER_WRITE]"));
        } finally {
            TestDirs.delete(dir);
        }
    }

    @Test
    @Timeout(10)
    void sslContextsOfTwoSvidsCompleteAMutualHandshake() throws Exception {
        SSLContext client = ca.issue(GATEWAY, Duration.ofMinutes(10)).sslContext(List.of(ca.certificate()));
        SSLContext server = ca.issue(SERVER, Duration.ofMinutes(10)).sslContext(List.of(ca.certificate()));

        assertThat(handshake(client, server), is(true));
    }

    @Test
    @Timeout(10)
    void sslContextRefusesPeerOfAnotherCa() throws Exception {
        LocalCa other = LocalCa.create("echo.local");
        SSLContext client = other.issue(GATEWAY, Duration.ofMinutes(10)).sslContext(List.of(other.certificate()));
        SSLContext server = ca.issue(SERVER, Duration.ofMinutes(10)).sslContext(List.of(ca.certificate()));

        assertThrows(SSLException.class, () -> handshake(client, server));
    }

    private static String refusal(IssuedSvid issued) {
        return assertThrows(X509SvidException.class,
                            () -> X509Svid.parseRaw(issued.chainDer(), issued.privateKeyDer())).getMessage();
    }

    // Drives a client and a server SSLEngine against each other in memory until both finish the handshake.
    private static boolean handshake(SSLContext clientContext, SSLContext serverContext) throws SSLException {
        SSLEngine client = clientContext.createSSLEngine("localhost", 443);
        client.setUseClientMode(true);
        SSLEngine server = serverContext.createSSLEngine();
        server.setUseClientMode(false);
        server.setNeedClientAuth(true);

        int size = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize());
        ByteBuffer toServer = ByteBuffer.allocate(size * 4);
        ByteBuffer toClient = ByteBuffer.allocate(size * 4);
        ByteBuffer sink = ByteBuffer.allocate(size * 4);
        ByteBuffer empty = ByteBuffer.allocate(0);
        client.beginHandshake();
        server.beginHandshake();
        for (int round = 0; round < 100; round++) {
            step(client, empty, toServer, toClient, sink);
            step(server, empty, toClient, toServer, sink);
            if (done(client) && done(server)) {
                return true;
            }
        }
        return false;
    }

    private static void step(SSLEngine engine, ByteBuffer empty, ByteBuffer out,
                             ByteBuffer in, ByteBuffer sink) throws SSLException {
        SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
        if (status == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
                task.run();
            }
        } else if (status == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
            engine.wrap(empty, out);
        } else if (status == SSLEngineResult.HandshakeStatus.NEED_UNWRAP) {
            in.flip();
            engine.unwrap(in, sink);
            in.compact();
            sink.clear();
        }
    }

    private static boolean done(SSLEngine engine) {
        SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
        return status == SSLEngineResult.HandshakeStatus.FINISHED
                || status == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING;
    }
}
