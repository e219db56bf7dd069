package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import dev.echochain.gateway.GatewayLimits;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Far more concurrent requests than the gateway takes on, from many HTTP/2 clients at once, while echo-server answers
 * slowly: a gateway with the images' heap answers the excess with a JSON 503 at once, stays up, and serves again. And
 * one HTTP/2 client with many requests in flight stays on one connection, which the heap can carry.
 */
@Timeout(120)
class OverloadTest {

    private static final Tally TALLY = new Tally(OverloadTest.class);
    /** The heap and GC of the container images (the root POM's Jib jvmFlags). */
    private static final String[] IMAGE_HEAP = {"-XX:+UseSerialGC", "-Xms48m", "-Xmx64m",
        "-XX:+UseCompactObjectHeaders", "-XX:TrimNativeHeapInterval=2000", "-XX:+ExitOnOutOfMemoryError"};
    /** Clients, each with its own HTTP/2 connection. */
    private static final int CLIENTS = 40;
    /** Requests in flight per client. */
    private static final int STREAMS = 100;
    /** Requests one HTTP/2 client keeps in flight on its connection. */
    private static final int IN_FLIGHT = 256;
    /** How long that client keeps them in flight. */
    private static final Duration LOAD = Duration.ofSeconds(10);

    @AfterAll
    static void publish() {
        TALLY.publish();
    }

    @Test
    void gatewayWithTheImagesHeapShedsAFloodOfSlowRequestsWith503AndStaysUp() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().withFaultLink());
             ServiceProcess gateway = ServiceProcess.gateway(chain, chain.dir.resolve("gateway.log"), IMAGE_HEAP)) {
            int[] ports = gateway.start(ServiceProcess.GATEWAY_PORTS);
            SSLContext caller = chain.caller(TestChain.EXTERNAL_ID);
            URI echo = URI.create("https://127.0.0.1:" + ports[0] + "/echo");
            List<HttpClient> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(chain.httpClient(caller));
            }
            try {
                HttpClient http = clients.getFirst();
                long ready = System.nanoTime();
                while (post(http, echo) != null) {
                    assertThat("the gateway answers within 20 s", System.nanoTime() - ready < 20e9, is(true));
                    Thread.sleep(100);
                }

                for (HttpClient client : clients) {
                    // one request first, so that every client holds its connection before the flood
                    assertThat(post(client, echo), is((String) null));
                }
                chain.link.delayReplies(2000);
                List<CompletableFuture<HttpResponse<String>>> flood = new ArrayList<>();
                for (int i = 0; i < STREAMS; i++) {
                    for (HttpClient client : clients) {
                        flood.add(client.sendAsync(request(echo), HttpResponse.BodyHandlers.ofString()));
                        TALLY.input("concurrent-request-flood");
                    }
                }
                int ok = 0;
                int shed = 0;
                for (CompletableFuture<HttpResponse<String>> reply : flood) {
                    HttpResponse<String> response;
                    try {
                        response = reply.get(60, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        throw new AssertionError("a request of the flood failed (" + e.getCause() + "); gateway alive: "
                                + gateway.process().isAlive() + "; log:\n" + gateway.log(), e);
                    }
                    if (response.statusCode() == 200) {
                        ok++;
                    } else {
                        assertThat(response.body(), response.statusCode(), is(503));
                        assertThat(response.body(), containsString("(server.max.concurrent.requests)"));
                        assertThat(response.headers().firstValue("content-type").orElse(""),
                                containsString("application/json"));
                        shed++;
                    }
                }
                TALLY.measured("flood_answered_200", ok);
                TALLY.measured("flood_answered_503", shed);

                assertThat("the gateway process survived; log:\n" + gateway.log(), gateway.process().isAlive(),
                        is(true));
                assertThat("requests served during the flood", ok, greaterThan(0));
                assertThat("requests shed with 503", shed, greaterThan(0));
                chain.link.delayReplies(0);
                assertThat("served again after the flood", post(http, echo), is((String) null));
            } finally {
                clients.forEach(HttpClient::close);
            }
        }
    }

    /*
     * Helidon's HTTP/2 client puts new streams only on its newest connection and leaves a full one open and idle, and
     * Helidon 4.5.0's server keeps an idle connection's finished streams in memory: with 100 streams per connection,
     * one such client with 256 requests in flight left 217 idle connections and ran the images' heap out within 20 s.
     * A stream limit above the request limit keeps any client that respects it on one connection.
     */
    @Test
    void gatewayAdvertisesMoreStreamsPerConnectionThanItsRequestLimit() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults())) {
            long streams = advertisedMaxConcurrentStreams(chain.caller(TestChain.EXTERNAL_ID), chain.gateway.port());
            TALLY.measured("advertised_max_concurrent_streams", streams);

            assertThat("SETTINGS_MAX_CONCURRENT_STREAMS", streams,
                    is((long) GatewayLimits.DEFAULT.maxConcurrentStreams()));
            assertThat("streams per connection above the request limit", streams,
                    greaterThan((long) GatewayLimits.DEFAULT.maxConcurrentRequests()));
        }
    }

    @Test
    void gatewayWithTheImagesHeapServes256RequestsInFlightOnOneHttp2Connection() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().withFaultLink());
             ServiceProcess gateway = ServiceProcess.gateway(chain, chain.dir.resolve("gateway.log"), IMAGE_HEAP)) {
            int port = gateway.start(ServiceProcess.GATEWAY_PORTS)[0];
            URI echo = URI.create("https://127.0.0.1:" + port + "/echo");
            try (HttpClient client = chain.httpClient(chain.caller(TestChain.EXTERNAL_ID))) {
                long ready = System.nanoTime();
                while (post(client, echo) != null) {
                    assertThat("the gateway answers within 20 s", System.nanoTime() - ready < 20e9, is(true));
                    Thread.sleep(100);
                }
                AtomicLong ok = new AtomicLong();
                AtomicReference<String> failure = new AtomicReference<>();
                long end = System.nanoTime() + LOAD.toNanos();
                try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                    for (int i = 0; i < IN_FLIGHT; i++) {
                        threads.submit(() -> {
                            while (System.nanoTime() < end && failure.get() == null) {
                                String error = post(client, echo);
                                if (error == null) {
                                    ok.incrementAndGet();
                                } else {
                                    failure.compareAndSet(null, error);
                                }
                            }
                        });
                    }
                }
                int connections = establishedConnections(port);
                TALLY.input("256-requests-in-flight-on-one-connection");
                TALLY.measured("in_flight_256_requests_answered", ok.get());
                TALLY.measured("in_flight_256_server_connections", connections);

                assertThat("every request answered 200 with the chain; log:\n" + gateway.log(), failure.get(),
                        is((String) null));
                assertThat("the gateway process survived; log:\n" + gateway.log(), gateway.process().isAlive(),
                        is(true));
                assertThat("connections the client holds at the gateway", connections, is(1));
            }
        }
    }

    /** One POST /echo; null when it was answered 200 with the message, else what went wrong. */
    private static String post(HttpClient client, URI echo) {
        try {
            HttpResponse<String> response = client.send(request(echo), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().contains("\"flood\"") ? null
                    : response.statusCode() + " " + response.body();
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e.toString();
        }
    }

    /** Opens an HTTP/2 connection (ALPN h2) and returns SETTINGS_MAX_CONCURRENT_STREAMS from the server's SETTINGS. */
    private static long advertisedMaxConcurrentStreams(SSLContext caller, int port) throws IOException {
        try (SSLSocket socket = (SSLSocket) caller.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            assertThat("ALPN", socket.getApplicationProtocol(), is("h2"));
            OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // an empty SETTINGS frame: length 0, type 4, no flags, stream 0
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            while (true) {
                int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                in.readInt();
                byte[] payload = in.readNBytes(length);
                if (type != 4 || (flags & 1) != 0) {
                    continue;
                }
                ByteBuffer settings = ByteBuffer.wrap(payload);
                while (settings.remaining() >= 6) {
                    int id = settings.getShort() & 0xffff;
                    long value = settings.getInt() & 0xffffffffL;
                    if (id == 3) {
                        return value;
                    }
                }
                // absent means unlimited (RFC 9113, section 6.5.2)
                return Long.MAX_VALUE;
            }
        }
    }

    /** Established TCP connections whose local port is the given one, read from /proc/net/tcp and tcp6. */
    private static int establishedConnections(int port) throws IOException {
        String local = String.format(":%04X", port);
        int count = 0;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path path = Path.of(table);
            if (!Files.exists(path)) {
                continue;
            }
            List<String> lines = Files.readAllLines(path);
            for (String line : lines.subList(1, lines.size())) {
                String[] fields = line.trim().split("\\s+");
                // fields: sl, local_address, rem_address, st (01 = ESTABLISHED)
                if (fields[1].endsWith(local) && fields[3].equals("01")) {
                    count++;
                }
            }
        }
        return count;
    }

    private static HttpRequest request(URI echo) {
        return HttpRequest.newBuilder(echo)
                .version(HttpClient.Version.HTTP_2)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"message\": \"flood\"}"))
                .build();
    }
}
