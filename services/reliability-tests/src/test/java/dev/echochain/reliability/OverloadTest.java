package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Far more concurrent requests than the gateway takes on, from many HTTP/2 clients at once, each keeping its
 * connection at the gateway's stream limit, while echo-server answers slowly: a gateway with the images' heap answers
 * the excess with a JSON 503 at once, stays up, and serves again.
 */
@Timeout(120)
class OverloadTest {

    private static final Tally TALLY = new Tally(OverloadTest.class);
    /** The heap and GC of the container images (the root POM's Jib jvmFlags). */
    private static final String[] IMAGE_HEAP = {"-XX:+UseSerialGC", "-Xms48m", "-Xmx64m",
        "-XX:+UseCompactObjectHeaders", "-XX:TrimNativeHeapInterval=2000", "-XX:+ExitOnOutOfMemoryError"};
    /** Clients, each with its own HTTP/2 connection. */
    private static final int CLIENTS = 40;
    /** Requests in flight per client: the gateway's limit of concurrent streams per connection. */
    private static final int STREAMS = 100;

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
                while (status(http, echo) != 200) {
                    assertThat("the gateway answers within 20 s", System.nanoTime() - ready < 20e9, is(true));
                    Thread.sleep(100);
                }

                for (HttpClient client : clients) {
                    // one request first, so that every client holds its connection before the flood
                    assertThat(status(client, echo), is(200));
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
                assertThat("served again after the flood", status(http, echo), is(200));
            } finally {
                clients.forEach(HttpClient::close);
            }
        }
    }

    private static HttpRequest request(URI echo) {
        return HttpRequest.newBuilder(echo)
                .version(HttpClient.Version.HTTP_2)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"message\": \"flood\"}"))
                .build();
    }

    private static int status(HttpClient http, URI echo) {
        try {
            return http.send(request(echo), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
