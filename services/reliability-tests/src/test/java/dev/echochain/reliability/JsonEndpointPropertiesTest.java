package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import jakarta.json.Json;
import jakarta.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Properties of {@code POST /echo} checked with generated input (jqwik): any Unicode message comes back intact, and
 * any body at all gets a JSON answer, never a 5xx.
 */
class JsonEndpointPropertiesTest {

    private static final Tally TALLY = new Tally(JsonEndpointPropertiesTest.class);
    private static final List<String> JSON_TOKENS = List.of("{", "}", "[", "]", ":", ",", "\"", "\"message\"",
            "\"hi\"", "null", "true", "1", "-0.5e9", "\\", "\\u00e9", "\\ud83d", " ", "\n", "é", "🙂", "\u0000");

    private static TestChain chain;
    private static HttpClient client;

    @BeforeContainer
    static void startChain() throws Exception {
        chain = TestChain.start(TestChain.Setup.defaults());
        client = chain.httpClient(chain.caller(TestChain.EXTERNAL_ID));
    }

    @AfterContainer
    static void stopChain() throws Exception {
        TALLY.publish();
        if (chain != null) {
            chain.close();
        }
    }

    @Provide
    Arbitrary<String> messages() {
        Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.integers().between(0x20, 0x7E)),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0x00, 0xD7FF)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0xE000, 0xFFFD)),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0x1F300, 0x1FAFF)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0x10000, 0x10FFFF)));
        return codePoint.list().ofMaxSize(80)
                .map(points -> new String(points.stream().mapToInt(Integer::intValue).toArray(), 0, points.size()));
    }

    @Provide
    Arbitrary<String> jsonLike() {
        return Arbitraries.of(JSON_TOKENS).list().ofMaxSize(40).map(tokens -> String.join("", tokens));
    }

    @Property(tries = 250)
    void anyUnicodeMessageEchoesBackIntact(@ForAll("messages") String message) throws Exception {
        TALLY.input("generated-unicode-message");
        HttpResponse<String> response = post(Json.createObjectBuilder().add("message", message).build().toString()
                .getBytes(StandardCharsets.UTF_8));

        assertThat(response.body(), response.statusCode(), is(200));
        JsonObject body = HostileInputTest.json(response.body());
        assertThat(body.getString("message"), is(message));
    }

    @Property(tries = 250)
    void jsonLikeTextGetsAJsonAnswerAndNeverA5xx(@ForAll("jsonLike") String text) throws Exception {
        TALLY.input("generated-json-like-text");
        assertJsonAnswer(post(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Property(tries = 250)
    void arbitraryBytesGetAJsonAnswerAndNeverA5xx(@ForAll @Size(max = 400) byte[] body) throws Exception {
        TALLY.input("generated-bytes");
        assertJsonAnswer(post(body));
    }

    private static void assertJsonAnswer(HttpResponse<String> response) {
        assertThat(response.body(), response.statusCode(), anyOf(is(200), is(400)));
        assertThat(response.headers().firstValue("Content-Type").orElse(""), startsWith("application/json"));
        HostileInputTest.json(response.body());
    }

    private static HttpResponse<String> post(byte[] body) throws Exception {
        return client.send(HttpRequest.newBuilder(chain.echoUri())
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }
}
