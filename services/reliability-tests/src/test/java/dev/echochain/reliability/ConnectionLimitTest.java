package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import dev.echochain.gateway.GatewayLimits;
import dev.echochain.identity.RejectReason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * More clients than the gateway is configured for: connections over {@code server.max.connections} wait in the
 * accept queue and are served once others close; requests over {@code server.max.concurrent.requests} get a JSON 503;
 * memory stays bounded either way.
 */
@Timeout(90)
class ConnectionLimitTest {

    private static final Tally TALLY = new Tally(ConnectionLimitTest.class);
    private static final byte[] BODY = "{\"message\": \"one more\"}".getBytes(StandardCharsets.UTF_8);
    private static final int MAX_CONNECTIONS = 4;

    @AfterAll
    static void publish() {
        TALLY.publish();
    }

    @Test
    void connectionBeyondTheLimitWaitsAndIsServedWhenAnotherCloses() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults()
                .limits(new GatewayLimits(MAX_CONNECTIONS, -1, Duration.ofSeconds(10))))) {
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            List<RawHttps> held = new ArrayList<>();
            try {
                for (int i = 0; i < MAX_CONNECTIONS; i++) {
                    RawHttps http = chain.raw(caller);
                    held.add(http);
                    assertThat(http.postEcho(BODY).status(), is(200));
                }

                TALLY.input("connection-over-limit");
                CompletableFuture<Integer> extra = CompletableFuture.supplyAsync(() -> {
                    try (RawHttps http = RawHttps.open(caller, chain.gateway.port(), 10_000)) {
                        return http.postEcho(BODY).status();
                    } catch (IOException e) {
                        return -1;
                    }
                });
                Thread.sleep(700);
                assertThat("the fifth connection waits while four are open", extra.isDone(), is(false));

                held.removeFirst().close();
                long start = System.nanoTime();
                int status = extra.get(5, TimeUnit.SECONDS);
                TALLY.measured("queued_connection_served_after_close_ms",
                        Duration.ofNanos(System.nanoTime() - start).toMillis());
                assertThat("the waiting connection is served once one closes", status, is(200));
            } finally {
                for (RawHttps http : held) {
                    http.close();
                }
            }
        }
    }

    @Test
    void hundredsOfConnectionsBeyondTheLimitKeepMemoryBoundedAndTheGatewayServing() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults()
                .limits(new GatewayLimits(MAX_CONNECTIONS, -1, Duration.ofSeconds(10))))) {
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            assertThat(postOnce(chain, caller), is(200));
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            System.gc();
            long heapBefore = memory.getHeapMemoryUsage().getUsed();

            List<Socket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 300; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), chain.gateway.port());
                    // half a TLS record header, then silence
                    socket.getOutputStream().write(new byte[] {0x16, 0x03});
                    flood.add(socket);
                    TALLY.input("connection-flood");
                }
                Thread.sleep(500);
                System.gc();
                long growth = memory.getHeapMemoryUsage().getUsed() - heapBefore;
                TALLY.measured("heap_growth_with_300_waiting_connections_mib", growth / (1024 * 1024));
                assertThat("heap growth in MiB with 300 connections over the limit", growth / (1024 * 1024),
                        lessThan(32L));
                assertThat("live", TestChain.observeStatus(chain.gateway.observePort(), "/observe/health/live"),
                        is(204));
            } finally {
                for (Socket socket : flood) {
                    socket.close();
                }
            }

            long start = System.nanoTime();
            int status = -1;
            while (status != 200) {
                assertThat("serving again within 5 s of the flood ending", System.nanoTime() - start,
                        lessThan(Duration.ofSeconds(5).toNanos()));
                status = postOnce(chain, caller);
            }
        }
    }

    @Test
    void silentConnectionsLoseTheirSlotAfterTheHandshakeTimeout() throws Exception {
        Duration handshakeTimeout = Duration.ofSeconds(1);
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults()
                .limits(new GatewayLimits(MAX_CONNECTIONS, -1, Duration.ofSeconds(10), handshakeTimeout,
                        GatewayLimits.DEFAULT.maxConcurrentStreams())))) {
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            assertThat(postOnce(chain, caller), is(200));
            long before = chain.gateway.callers().rejected(RejectReason.HANDSHAKE_TIMEOUT);

            List<Socket> silent = new ArrayList<>();
            try {
                for (int i = 0; i < MAX_CONNECTIONS; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), chain.gateway.port());
                    socket.setSoTimeout(5000);
                    socket.getOutputStream().write(new byte[] {0x16, 0x03});
                    silent.add(socket);
                    TALLY.input("silent-handshake");
                }
                long start = System.nanoTime();
                int status;
                try (RawHttps http = RawHttps.open(caller, chain.gateway.port(), 10_000)) {
                    status = http.postEcho(BODY).status();
                }
                long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
                TALLY.measured("served_behind_silent_connections_ms", millis);

                assertThat("a caller behind four silent connections is served", status, is(200));
                assertThat("ms until served", millis, lessThan(handshakeTimeout.toMillis() + 2000));
                for (Socket socket : silent) {
                    assertThat("the gateway closed a silent connection", closed(socket), is(true));
                }
                assertThat(chain.gateway.callers().rejected(RejectReason.HANDSHAKE_TIMEOUT),
                        is(before + MAX_CONNECTIONS));
            } finally {
                for (Socket socket : silent) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void echoServerHoldsNewConnectionsBeyondItsLimitWhileTheGatewaysConnectionKeepsServing() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().serverMaxConnections(MAX_CONNECTIONS))) {
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            // the gateway's one upstream connection takes the first slot
            assertThat(postOnce(chain, caller), is(200));
            SSLContext asGateway = Peers.context(chain.api.issue(TestChain.GATEWAY_ID), chain.api::bundle,
                    TestChain.SERVER_ID);

            List<Socket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 300; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), chain.serverPort());
                    socket.getOutputStream().write(new byte[] {0x16, 0x03});
                    flood.add(socket);
                    TALLY.input("echo-server-connection-flood");
                }
                assertThat("a new handshake beyond echo-server's limit waits",
                        handshakes(asGateway, chain.serverPort(), 700), is(false));
                assertThat("the gateway's established connection serves during the flood", postOnce(chain, caller),
                        is(200));
            } finally {
                for (Socket socket : flood) {
                    socket.close();
                }
            }

            long start = System.nanoTime();
            boolean served = handshakes(asGateway, chain.serverPort(), 5000);
            TALLY.measured("echo_server_handshake_after_flood_ms",
                    Duration.ofNanos(System.nanoTime() - start).toMillis());
            assertThat("a new handshake completes once the flood closes", served, is(true));
        }
    }

    /* Whether a TLS handshake with the server completes within the time. */
    private static boolean handshakes(SSLContext context, int port, int timeoutMillis) throws IOException {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(timeoutMillis);
            socket.startHandshake();
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    private static boolean closed(Socket socket) {
        try {
            return socket.getInputStream().read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void requestsBeyondTheConcurrencyLimitGetJson503() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults()
                .limits(new GatewayLimits(-1, 2, Duration.ofSeconds(10))).withFaultLink())) {
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            assertThat(postOnce(chain, caller), is(200));
            chain.link.delayReplies(600);
            double before = chain.gatewayAnswers(503);

            ExecutorService clients = Executors.newFixedThreadPool(8);
            List<Future<RawHttps.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                replies.add(clients.submit(() -> {
                    try (RawHttps http = chain.raw(caller)) {
                        return http.postEcho(BODY);
                    }
                }));
                TALLY.input("request-over-concurrency-limit");
            }
            int ok = 0;
            int refused = 0;
            for (Future<RawHttps.Reply> future : replies) {
                RawHttps.Reply reply = future.get();
                if (reply.status() == 200) {
                    ok++;
                } else {
                    HostileInputTest.assertJsonError(reply, 503, "(server.max.concurrent.requests)");
                    assertThat(reply.headers().get("retry-after"), is("1"));
                    refused++;
                }
            }
            clients.shutdown();

            assertThat("requests served", ok, greaterThan(0));
            assertThat("requests refused with 503", refused, greaterThan(0));
            assertThat("refusals counted", chain.gatewayAnswers(503) - before, is((double) refused));
            chain.link.delayReplies(0);
            RawHttps.Reply after;
            try (RawHttps http = chain.raw(caller)) {
                after = http.postEcho(BODY);
            }
            assertThat(after.body(), after.status(), is(200));
            assertThat(after.body(), containsString("one more"));
        }
    }

    private static int postOnce(TestChain chain, SSLContext caller) {
        try (RawHttps http = RawHttps.open(caller, chain.gateway.port(), 2000)) {
            return http.postEcho(BODY).status();
        } catch (IOException e) {
            return -1;
        }
    }
}
