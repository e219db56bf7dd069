package dev.echochain.gateway;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.echochain.devworkload.IssuedSvid;
import dev.echochain.devworkload.LocalCa;
import dev.echochain.identity.RejectReason;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The chain end to end: client SVID → echo-gateway (HTTPS mTLS) → echo-server (gRPC mTLS) and back. */
@Timeout(60)
class EchoChainTest {

    private static Chain chain;

    @BeforeAll
    static void startChain() throws Exception {
        chain = Chain.start();
    }

    @AfterAll
    static void stopChain() throws IOException {
        if (chain != null) {
            chain.close();
        }
    }

    @Test
    void replyShowsWhoCalledWhomOnBothHops() throws Exception {
        HttpResponse<String> response = Chain.postJson(chain.client(Chain.TRAEFIK_EXTERNAL_ID), chain.echoUri(),
                "{\"message\": \"hello there\"}");

        assertThat(response.body(), response.statusCode(), is(200));
        JsonObject body = json(response.body());
        assertThat(body.getString("message"), is("hello there"));
        assertThat("echo-server's own ID", body.getJsonObject("server").getString("id"), is(Chain.SERVER_ID));
        assertThat("echo-server's caller", body.getJsonObject("server").getString("caller"), is(Chain.GATEWAY_ID));
        assertThat("the gateway's own ID", body.getJsonObject("gateway").getString("id"), is(Chain.GATEWAY_ID));
        assertThat("the gateway's caller", body.getJsonObject("gateway").getString("caller"),
                is(Chain.TRAEFIK_EXTERNAL_ID));
    }

    @Test
    void traefikInternalIsAnAllowedCaller() throws Exception {
        HttpResponse<String> response = Chain.postJson(chain.client(Chain.TRAEFIK_INTERNAL_ID), chain.echoUri(),
                "{\"message\": \"via internal\"}");

        assertThat(response.body(), response.statusCode(), is(200));
        assertThat(json(response.body()).getJsonObject("gateway").getString("caller"),
                is(Chain.TRAEFIK_INTERNAL_ID));
    }

    @Test
    void emptyMessageIsEchoed() throws Exception {
        HttpResponse<String> response = Chain.postJson(chain.client(Chain.TRAEFIK_EXTERNAL_ID), chain.echoUri(),
                "{\"message\": \"\"}");

        assertThat(response.body(), response.statusCode(), is(200));
        assertThat(json(response.body()).getString("message"), is(""));
    }

    @Test
    void gatewayReusesOneConnectionToEchoServer() throws Exception {
        HttpClient client = chain.client(Chain.TRAEFIK_EXTERNAL_ID);
        Chain.postJson(client, chain.echoUri(), "{\"message\": \"warm\"}");
        long connectionsBefore = chain.gateway.upstream().connectionsOpened();
        long handshakesBefore = chain.server.callers().accepted();

        for (int i = 0; i < 200; i++) {
            HttpResponse<String> response = Chain.postJson(client, chain.echoUri(), "{\"message\": \"m" + i + "\"}");
            assertThat(response.body(), response.statusCode(), is(200));
        }

        assertThat("TCP connections opened to echo-server during 200 requests",
                chain.gateway.upstream().connectionsOpened() - connectionsBefore, is(0L));
        assertThat("client handshakes accepted by echo-server during 200 requests",
                chain.server.callers().accepted() - handshakesBefore, is(0L));
        assertThat(chain.gateway.upstream().connectionsOpened(), lessThanOrEqualTo(1L));
    }

    @Test
    void refusesCallerWhoseIdIsNotAllowed() {
        long before = chain.gateway.callers().rejected(RejectReason.ID_NOT_ALLOWED);
        HttpClient client = chain.client("spiffe://echo.local/ns/default/sa/intruder");

        assertThrows(IOException.class, () -> Chain.postJson(client, chain.echoUri(), "{\"message\": \"x\"}"));
        assertThat(chain.gateway.callers().rejected(RejectReason.ID_NOT_ALLOWED), is(before + 1));
    }

    @Test
    void refusesCallerFromForeignTrustDomain() {
        long before = chain.gateway.callers().rejected(RejectReason.FOREIGN_TRUST_DOMAIN);
        IssuedSvid foreign = LocalCa.create("other.test")
                .issue("spiffe://other.test/ns/traefik/sa/traefik-external", Duration.ofMinutes(5));
        HttpClient client = chain.client(foreign);

        assertThrows(IOException.class, () -> Chain.postJson(client, chain.echoUri(), "{\"message\": \"x\"}"));
        assertThat(chain.gateway.callers().rejected(RejectReason.FOREIGN_TRUST_DOMAIN), is(before + 1));
    }

    @Test
    void refusesCallerWithoutCertificate() {
        HttpClient client = HttpClient.newBuilder()
                .sslContext(chain.sslContext(null, Chain.GATEWAY_ID))
                .sslParameters(Chain.tls13())
                .build();

        assertThrows(IOException.class, () -> Chain.postJson(client, chain.echoUri(), "{\"message\": \"x\"}"));
    }

    @Test
    void observeSocketServesHealthAndMetricsWithoutTls() throws Exception {
        assertThat(Chain.get(chain.observe(chain.gateway.observePort(), "/observe/health/live")).statusCode(),
                is(204));
        assertThat(Chain.get(chain.observe(chain.gateway.observePort(), "/observe/health/ready")).statusCode(),
                is(204));
        Chain.postJson(chain.client(Chain.TRAEFIK_EXTERNAL_ID), chain.echoUri(), "{\"message\": \"metrics\"}");

        String metrics = Chain.get(chain.observe(chain.gateway.observePort(), "/observe/metrics")).body();
        assertThat(metrics, containsString("spiffe_svid_expiry_seconds"));
        assertThat(metrics, containsString("spiffe_svid_rotations_total"));
        assertThat(metrics, containsString("tls_handshakes_total"));
        assertThat(metrics, containsString("gateway_requests_seconds_count"));
    }

    @Test
    void svidRotationMidTrafficFailsNoRequestAndReachesNewHandshakes() throws Exception {
        HttpClient client = chain.client(Chain.TRAEFIK_EXTERNAL_ID);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService load = Executors.newFixedThreadPool(4);
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            workers.add(load.submit(() -> {
                while (running.get()) {
                    try {
                        HttpResponse<String> response = Chain.postJson(client, chain.echoUri(),
                                "{\"message\": \"rotating\"}");
                        if (response.statusCode() == 200) {
                            ok.incrementAndGet();
                        } else {
                            failures.add(response.statusCode() + " " + response.body());
                        }
                    } catch (IOException | InterruptedException e) {
                        failures.add(e.toString());
                    }
                }
            }));
        }
        long serverRotations = chain.serverIdentity.rotations();
        long gatewayRotations = chain.gatewayIdentity.rotations();
        for (int i = 0; i < 5; i++) {
            Thread.sleep(200);
            chain.api.rotateSvids();
        }
        Thread.sleep(300);
        running.set(false);
        for (Future<?> worker : workers) {
            worker.get();
        }
        load.shutdown();

        assertThat("failed requests during 5 rotations", failures, is(List.of()));
        assertThat(ok.get(), greaterThan(20));
        assertThat(chain.serverIdentity.rotations() - serverRotations, is(5L));
        assertThat(chain.gatewayIdentity.rotations() - gatewayRotations, is(5L));

        BigInteger gatewaySerial = chain.gatewayEndpoint.currentSvid().serial();
        BigInteger serverSerial = chain.serverEndpoint.currentSvid().serial();
        assertThat("a new handshake with the gateway presents its newest SVID",
                chain.presentedCertificate(chain.gateway.port(), chain.api.issue(Chain.TRAEFIK_EXTERNAL_ID),
                        Chain.GATEWAY_ID).getSerialNumber(), is(gatewaySerial));
        assertThat("a new handshake with echo-server presents its newest SVID",
                chain.presentedCertificate(chain.server.port(), chain.api.issue(Chain.GATEWAY_ID),
                        Chain.SERVER_ID).getSerialNumber(), is(serverSerial));
    }

    @Test
    void bundleRotationIsFollowedByBothServices() throws Exception {
        IssuedSvid oldCaClient = chain.api.issue(Chain.TRAEFIK_EXTERNAL_ID);
        BigInteger oldGatewaySerial = chain.gatewayEndpoint.currentSvid().serial();

        chain.api.rotateCa();
        awaitSerialChange(oldGatewaySerial);
        IssuedSvid newCaClient = chain.api.issue(Chain.TRAEFIK_EXTERNAL_ID);
        assertThat("during the overlap a client of the old CA is still accepted",
                Chain.postJson(chain.client(oldCaClient), chain.echoUri(), "{\"message\": \"old\"}").statusCode(),
                is(200));
        assertThat("a client of the new CA is accepted",
                Chain.postJson(chain.client(newCaClient), chain.echoUri(), "{\"message\": \"new\"}").statusCode(),
                is(200));

        chain.api.retireOldCa();
        awaitBundleSize(1);
        assertThrows(IOException.class, () -> Chain.postJson(chain.client(oldCaClient), chain.echoUri(),
                "{\"message\": \"retired\"}"), "a client of the retired CA is refused");
        assertThat(Chain.postJson(chain.client(newCaClient), chain.echoUri(), "{\"message\": \"new\"}").statusCode(),
                is(200));
        assertThat("echo-server presents an SVID of the new CA",
                chain.presentedCertificate(chain.server.port(), chain.api.issue(Chain.GATEWAY_ID), Chain.SERVER_ID)
                        .getIssuerX500Principal(),
                is(chain.api.ca().certificate().getSubjectX500Principal()));
    }

    private static void awaitSerialChange(BigInteger old) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (chain.gatewayIdentity.getX509Svid().getLeaf().getSerialNumber().equals(old)
                || chain.serverIdentity.rotations() == 0) {
            assertThat("the new SVID arrived in time", System.nanoTime() < deadline, is(true));
            Thread.sleep(20);
        }
    }

    private static void awaitBundleSize(int size) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        io.spiffe.spiffeid.TrustDomain td = io.spiffe.spiffeid.TrustDomain.parse(Chain.TRUST_DOMAIN);
        while (chain.gatewayIdentity.getBundleForTrustDomain(td).getX509Authorities().size() != size
                || chain.serverIdentity.getBundleForTrustDomain(td).getX509Authorities().size() != size) {
            assertThat("the retired bundle arrived in time", System.nanoTime() < deadline, is(true));
            Thread.sleep(20);
        }
        assertThat(chain.api.bundle().size(), not(equalTo(0)));
    }

    static JsonObject json(String body) {
        return Json.createReader(new StringReader(body)).readObject();
    }
}
