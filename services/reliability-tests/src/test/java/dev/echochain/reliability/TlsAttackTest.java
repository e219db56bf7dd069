package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import dev.echochain.devworkload.IssuedSvid;
import dev.echochain.devworkload.LeafSpec;
import dev.echochain.devworkload.LocalCa;
import dev.echochain.gateway.EchoGateway;
import dev.echochain.identity.MtlsServer;
import dev.echochain.identity.RejectReason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TLS and identity attacks at both services' mutual-TLS ports: every one is refused, and where our trust manager
 * sees the peer's certificate, the refusal is counted by reason in {@code tls.handshakes} and logged.
 */
@Timeout(60)
class TlsAttackTest {

    private static final Tally TALLY = new Tally(TlsAttackTest.class);
    private static final String INTRUDER_ID = "spiffe://echo.local/ns/default/sa/intruder";

    private static TestChain chain;

    @BeforeAll
    static void startChain() throws Exception {
        chain = TestChain.start(TestChain.Setup.defaults());
    }

    @AfterAll
    static void stopChain() throws IOException {
        TALLY.publish();
        if (chain != null) {
            chain.close();
        }
    }

    /** One of the two services under attack. */
    enum Target {
        GATEWAY("echo-gateway-callers", TestChain.GATEWAY_ID, TestChain.EXTERNAL_ID, c -> c.gateway),
        SERVER("echo-server-callers", TestChain.SERVER_ID, TestChain.GATEWAY_ID, TestChain::server);

        final String peerTag;
        final String ownId;
        final String allowedCaller;
        final Function<TestChain, MtlsServer> service;

        Target(String peerTag, String ownId, String allowedCaller, Function<TestChain, MtlsServer> service) {
            this.peerTag = peerTag;
            this.ownId = ownId;
            this.allowedCaller = allowedCaller;
            this.service = service;
        }

        MtlsServer of(TestChain chain) {
            return service.apply(chain);
        }
    }

    static Stream<Arguments> hostileCertificates() {
        Instant now = Instant.now();
        Stream.Builder<Arguments> cases = Stream.builder();
        for (Target target : Target.values()) {
            String id = target.allowedCaller;
            cases.add(Arguments.of(target, "foreign trust domain", RejectReason.FOREIGN_TRUST_DOMAIN,
                    (Function<TestChain, IssuedSvid>) c -> LocalCa.create("other.test")
                            .issue(id.replace("echo.local", "other.test"), Duration.ofMinutes(5))));
            cases.add(Arguments.of(target, "SPIFFE ID not on the allowlist", RejectReason.ID_NOT_ALLOWED,
                    (Function<TestChain, IssuedSvid>) c -> c.api.issue(INTRUDER_ID)));
            cases.add(Arguments.of(target, "expired SVID", RejectReason.EXPIRED,
                    (Function<TestChain, IssuedSvid>) c -> c.api.issue(LeafSpec.builder(id)
                            .notBefore(now.minus(Duration.ofHours(2))).notAfter(now.minus(Duration.ofHours(1)))
                            .build())));
            cases.add(Arguments.of(target, "not-yet-valid SVID", RejectReason.NOT_YET_VALID,
                    (Function<TestChain, IssuedSvid>) c -> c.api.issue(LeafSpec.builder(id)
                            .notBefore(now.plus(Duration.ofHours(1))).notAfter(now.plus(Duration.ofHours(2)))
                            .build())));
            cases.add(Arguments.of(target, "leaf with two URI SANs", RejectReason.NOT_AN_SVID,
                    (Function<TestChain, IssuedSvid>) c -> c.api.issue(LeafSpec.builder(id)
                            .uriSans(id, INTRUDER_ID).build())));
            cases.add(Arguments.of(target, "CA certificate as the leaf", RejectReason.NOT_AN_SVID,
                    (Function<TestChain, IssuedSvid>) c -> c.api.issue(LeafSpec.builder(id).ca(true).build())));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("hostileCertificates")
    void hostileClientCertificateIsRefusedAndCountedByReason(Target target, String attack, RejectReason reason,
                                                             Function<TestChain, IssuedSvid> certificate)
            throws Exception {
        MtlsServer service = target.of(chain);
        long before = service.callers().rejected(reason);
        double metricBefore = rejectedMetric(service, target, reason);
        SSLContext attacker = Peers.context(certificate.apply(chain), chain.api::bundle, target.ownId);
        TALLY.input("tls-" + attack.replace(' ', '-'));

        assertRefused(attacker, service.port());
        assertThat(attack + " counted by reason", service.callers().rejected(reason), is(before + 1));
        assertThat("tls_handshakes_total{reason=" + reason.label() + "}", rejectedMetric(service, target, reason),
                is(metricBefore + 1));
        assertAnswers(Peers.context(chain.api.issue(target.allowedCaller), chain.api::bundle, target.ownId),
                service.port());
    }

    @ParameterizedTest
    @ValueSource(strings = {"GATEWAY", "SERVER"})
    void callerWithoutCertificateIsRefusedAndCounted(Target target) throws Exception {
        MtlsServer service = target.of(chain);
        long accepted = service.callers().accepted();
        long before = service.callers().rejected(RejectReason.NO_CERTIFICATE);
        double metricBefore = rejectedMetric(service, target, RejectReason.NO_CERTIFICATE);
        TALLY.input("tls-no-client-certificate");

        assertRefused(Peers.context(null, chain.api::bundle, target.ownId), service.port());
        assertThat("nothing was accepted", service.callers().accepted(), is(accepted));
        awaitCount(() -> service.callers().rejected(RejectReason.NO_CERTIFICATE), before + 1);
        assertThat(rejectedMetric(service, target, RejectReason.NO_CERTIFICATE), is(metricBefore + 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"GATEWAY", "SERVER"})
    void tls12OnlyCallerIsRefusedAndCounted(Target target) throws Exception {
        MtlsServer service = target.of(chain);
        long before = service.callers().rejected(RejectReason.PROTOCOL_VERSION);
        SSLContext caller = Peers.context(chain.api.issue(target.allowedCaller), chain.api::bundle, target.ownId);
        TALLY.input("tls-1.2-only");

        try (SSLSocket socket = (SSLSocket) caller.getSocketFactory().createSocket("127.0.0.1", service.port())) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setProtocols(new String[] {"TLSv1.2"});
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(5000);
            SSLHandshakeException refused = assertThrows(SSLHandshakeException.class, socket::startHandshake);
            assertThat(refused.getMessage(), containsString("protocol"));
        }
        awaitCount(() -> service.callers().rejected(RejectReason.PROTOCOL_VERSION), before + 1);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"})
    void plaintextToATlsPortGetsNoAnswerAndIsCounted(String request) throws Exception {
        for (Target target : Target.values()) {
            long before = target.of(chain).callers().rejected(RejectReason.NOT_TLS);
            TALLY.input(request.startsWith("PRI") ? "plaintext-grpc" : "plaintext-http");
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), target.of(chain).port())) {
                socket.setSoTimeout(5000);
                socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                byte[] reply = readUntilClosed(socket.getInputStream());

                assertThat(target + " answered plaintext with HTTP", new String(reply, StandardCharsets.ISO_8859_1),
                        not(startsWith("HTTP/")));
            }
            awaitCount(() -> target.of(chain).callers().rejected(RejectReason.NOT_TLS), before + 1);
        }
        assertAnswers(chain.caller(TestChain.EXTERNAL_ID), chain.gateway.port());
    }

    @Test
    void echoServerPresentingTheWrongIdIsRefusedByTheGatewaysClient() throws Exception {
        EchoGateway misdirected = EchoGateway.start(chain.gatewayConfig(chain.serverPort(),
                "spiffe://echo.local/ns/echo/sa/impostor", Duration.ofSeconds(2)), chain.gatewayIdentity);
        try {
            long before = misdirected.upstream().upstream().rejected(RejectReason.ID_NOT_ALLOWED);
            double metricBefore = TestChain.metric(misdirected.observePort(), "tls_handshakes_total",
                    "peer=\"echo-server\"", "reason=\"id_not_allowed\"");
            TALLY.input("tls-wrong-server-id");

            HttpResponse<String> response = TestChain.post(chain.httpClient(chain.caller(TestChain.EXTERNAL_ID)),
                    java.net.URI.create("https://127.0.0.1:" + misdirected.port() + "/echo"), "{\"message\": \"x\"}");

            assertThat(response.body(), response.statusCode(), is(502));
            assertThat(response.body(), containsString("identity was refused"));
            assertThat(misdirected.upstream().upstream().rejected(RejectReason.ID_NOT_ALLOWED), greaterThan(before));
            assertThat(TestChain.metric(misdirected.observePort(), "tls_handshakes_total", "peer=\"echo-server\"",
                    "reason=\"id_not_allowed\""), greaterThan(metricBefore));
        } finally {
            misdirected.stop();
        }
    }

    private static double rejectedMetric(MtlsServer service, Target target, RejectReason reason) throws Exception {
        return TestChain.metric(service.observePort(), "tls_handshakes_total", "peer=\"" + target.peerTag + "\"",
                "result=\"rejected\"", "reason=\"" + reason.label() + "\"");
    }

    /** The handshake or the first exchange fails: TLS 1.3 clients learn of a refused certificate on first read. */
    private static void assertRefused(SSLContext caller, int port) {
        assertThrows(IOException.class, () -> {
            try (SSLSocket socket = (SSLSocket) caller.getSocketFactory().createSocket("127.0.0.1", port)) {
                socket.setSoTimeout(5000);
                socket.startHandshake();
                socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                if (socket.getInputStream().read() == -1) {
                    throw new IOException("closed without an answer");
                }
            }
        });
    }

    /** A valid caller still gets an HTTP answer, so a refusal above was about the certificate. */
    private static void assertAnswers(SSLContext caller, int port) throws IOException {
        try (SSLSocket socket = (SSLSocket) caller.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            socket.startHandshake();
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            byte[] head = socket.getInputStream().readNBytes(5);
            assertThat(new String(head, StandardCharsets.US_ASCII), is("HTTP/"));
        }
    }

    /** Refusals before verification are counted by the server's connection thread, just after the client sees them. */
    private static void awaitCount(java.util.function.LongSupplier count, long expected) throws InterruptedException {
        long start = System.nanoTime();
        while (count.getAsLong() < expected && System.nanoTime() - start < Duration.ofSeconds(2).toNanos()) {
            Thread.sleep(10);
        }
        assertThat("refusals counted", count.getAsLong(), is(expected));
    }

    private static byte[] readUntilClosed(InputStream in) {
        try {
            return in.readNBytes(4096);
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
