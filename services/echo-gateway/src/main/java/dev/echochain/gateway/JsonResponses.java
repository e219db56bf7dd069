package dev.echochain.gateway;

import java.io.StringWriter;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonWriter;

/** Writes JSON bodies: replies and {@code {"error": "..."}} errors. */
final class JsonResponses {

    private JsonResponses() {
    }

    static void send(ServerResponse response, int status, JsonObject body) {
        StringWriter text = new StringWriter();
        try (JsonWriter writer = Json.createWriter(text)) {
            writer.writeObject(body);
        }
        response.status(Status.create(status))
                .header(HeaderNames.CONTENT_TYPE, MediaTypes.APPLICATION_JSON.text())
                .header(HeaderNames.CACHE_CONTROL, "no-store")
                .send(text.toString() + "\n");
    }

    static void error(ServerResponse response, int status, String message) {
        send(response, status, Json.createObjectBuilder().add("error", message).build());
    }
}
