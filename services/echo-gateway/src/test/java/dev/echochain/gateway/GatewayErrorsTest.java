package dev.echochain.gateway;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.startsWith;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import dev.echochain.identity.WorkloadIdentity;
import jakarta.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every error the gateway answers comes back as JSON {@code {"error": "..."}} with a fitting status. */
@Timeout(60)
class GatewayErrorsTest {

    private static Chain chain;
    private static HttpClient client;

    @BeforeAll
    static void startChain() throws Exception {
        chain = Chain.start();
        client = chain.client(Chain.TRAEFIK_EXTERNAL_ID);
    }

    @AfterAll
    static void stopChain() throws IOException {
        if (chain != null) {
            chain.close();
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "{\"message\": |400|not valid JSON",
        "not json at all|400|not valid JSON",
        "[\"message\"]|400|must be a JSON object",
        "{}|400|field \"message\" is missing",
        "{\"message\": null}|400|must be a string, got null",
        "{\"message\": 42}|400|must be a string, got a number",
        "{\"message\": [\"a\"]}|400|must be a string, got an array",
        "{\"message\": {\"a\": 1}}|400|must be a string, got an object",
    })
    void malformedBodiesGet400WithTheReason(String body, int status, String reason) throws Exception {
        HttpResponse<String> response = Chain.postJson(client, chain.echoUri(), body);

        assertJsonError(response, status, reason);
    }

    @Test
    void emptyBodyGets400() throws Exception {
        assertJsonError(Chain.postJson(client, chain.echoUri(), ""), 400, "empty");
    }

    @Test
    void bodyOverTheLimitGets413() throws Exception {
        String body = "{\"message\": \"" + "x".repeat(140_000) + "\"}";

        assertJsonError(Chain.postJson(client, chain.echoUri(), body), 413, "gateway.max.body.bytes");
    }

    @Test
    void messageOverEchoServersLimitGets400WithItsDescription() throws Exception {
        String body = "{\"message\": \"" + "x".repeat(70_000) + "\"}";

        assertJsonError(Chain.postJson(client, chain.echoUri(), body), 400, "echo.max.message.bytes");
    }

    @Test
    void nonJsonContentTypeGets415() throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(chain.echoUri())
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"message\": \"hi\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertJsonError(response, 415, "application/json");
    }

    @Test
    void curlsDefaultFormContentTypeIsReadAsJson() throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(chain.echoUri())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("{\"message\": \"hello there\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.body(), response.statusCode(), is(200));
    }

    @Test
    void wrongMethodGets405WithAllowHeader() throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(chain.echoUri()).GET().build(),
                HttpResponse.BodyHandlers.ofString());

        assertJsonError(response, 405, "use POST");
        assertThat(response.headers().firstValue("Allow").orElse(""), is("POST"));
    }

    @Test
    void unknownPathGets404() throws Exception {
        URI unknown = URI.create("https://127.0.0.1:" + chain.gateway.port() + "/nope");

        assertJsonError(Chain.postJson(client, unknown, "{\"message\": \"hi\"}"), 404, "/nope");
    }

    @Test
    void unreachableEchoServerGets503WithinOneSecond() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        EchoGateway gateway = EchoGateway.start(Chain.gatewayConfig(closedPort, Chain.SERVER_ID,
                Duration.ofSeconds(2)), chain.gatewayIdentity);
        try {
            long start = System.nanoTime();
            HttpResponse<String> response = Chain.postJson(client, uri(gateway), "{\"message\": \"hi\"}");
            long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();

            assertJsonError(response, 503, "echo-server is unavailable");
            assertThat("milliseconds to answer", millis, lessThan(1000L));
        } finally {
            gateway.stop();
        }
    }

    @Test
    void echoServerWithTheWrongIdGets502() throws Exception {
        EchoGateway gateway = EchoGateway.start(Chain.gatewayConfig(chain.server.port(),
                "spiffe://echo.local/ns/echo/sa/impostor", Duration.ofSeconds(2)), chain.gatewayIdentity);
        try {
            long start = System.nanoTime();
            HttpResponse<String> response = Chain.postJson(client, uri(gateway), "{\"message\": \"hi\"}");
            long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();

            assertJsonError(response, 502, "identity was refused");
            assertThat("milliseconds to answer", millis, lessThan(1000L));
        } finally {
            gateway.stop();
        }
    }

    @Test
    void echoServerThatNeverAnswersGets504AfterTheDeadline() throws Exception {
        try (ServerSocket blackHole = new ServerSocket(0)) {
            EchoGateway gateway = EchoGateway.start(Chain.gatewayConfig(blackHole.getLocalPort(), Chain.SERVER_ID,
                    Duration.ofMillis(300)), chain.gatewayIdentity);
            try {
                HttpResponse<String> response = Chain.postJson(client, uri(gateway), "{\"message\": \"hi\"}");

                assertJsonError(response, 504, "deadline");
            } finally {
                gateway.stop();
            }
        }
    }

    @Test
    void readinessFollowsSvidAvailability() throws Exception {
        var endpoint = chain.api.addWorkload("spiffe://echo.local/ns/echo/sa/late", chain.dir.resolve("late.sock"));
        endpoint.stop();
        WorkloadIdentity late = WorkloadIdentity.start(Chain.identityConfig(endpoint));
        EchoGateway gateway = EchoGateway.start(Chain.gatewayConfig(chain.server.port(), Chain.SERVER_ID,
                Duration.ofSeconds(2)), late);
        URI ready = chain.observe(gateway.observePort(), "/observe/health/ready");
        try {
            assertThat("ready before any SVID", Chain.get(ready).statusCode(), is(503));
            assertThat("alive before any SVID", Chain.get(chain.observe(gateway.observePort(),
                    "/observe/health/live")).statusCode(), is(204));

            long start = System.nanoTime();
            endpoint.start();
            while (Chain.get(ready).statusCode() != 204) {
                assertThat("ready within 2 s of the Workload API appearing",
                        System.nanoTime() - start, lessThan(Duration.ofSeconds(2).toNanos()));
                Thread.sleep(20);
            }
        } finally {
            gateway.stop();
            late.close();
        }
    }

    private static URI uri(EchoGateway gateway) {
        return URI.create("https://127.0.0.1:" + gateway.port() + "/echo");
    }

    private static void assertJsonError(HttpResponse<String> response, int status, String reason) {
        assertThat(response.body(), response.statusCode(), is(status));
        assertThat(response.headers().firstValue("Content-Type").orElse(""), startsWith("application/json"));
        JsonObject body = EchoChainTest.json(response.body());
        assertThat(body.getString("error"), containsString(reason));
    }
}
