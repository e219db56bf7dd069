package dev.echochain.gateway;

import java.io.StringWriter;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import jakarta.json.JsonObject;
import jakarta.json.JsonWriter;
import jakarta.json.spi.JsonProvider;

/** Writes JSON bodies: replies and {@code {"error": "..."}} errors, and holds the gateway's one JSON provider. */
final class JsonResponses {

    /*
     * Every static jakarta.json.Json method calls JsonProvider.provider(), a ServiceLoader scan of the class path:
     * 25 to 55 us per call, five calls per request. One provider, looked up once, is thread-safe and costs nothing.
     */
    static final JsonProvider JSON = JsonProvider.provider();

    private JsonResponses() {
    }

    static void send(ServerResponse response, int status, JsonObject body) {
        StringWriter text = new StringWriter();
        try (JsonWriter writer = JSON.createWriter(text)) {
            writer.writeObject(body);
        }
        response.status(Status.create(status))
                .header(HeaderNames.CONTENT_TYPE, MediaTypes.APPLICATION_JSON.text())
                .header(HeaderNames.CACHE_CONTROL, "no-store")
                .send(text.toString() + "\n");
    }

    static void error(ServerResponse response, int status, String message) {
        send(response, status, JSON.createObjectBuilder().add("error", message).build());
    }
}
