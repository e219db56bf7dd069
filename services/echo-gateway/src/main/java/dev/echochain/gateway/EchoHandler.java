package dev.echochain.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

import dev.echochain.echo.v1.EchoReply;
import dev.echochain.identity.PeerIds;
import dev.echochain.identity.WorkloadIdentity;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.helidon.common.media.type.MediaType;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderValues;
import io.helidon.http.HttpMediaType;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.spiffe.spiffeid.SpiffeId;
import jakarta.json.JsonObject;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;
import jakarta.json.stream.JsonParser;

/**
 * {@code POST /echo}: reads {@code {"message": "..."}}, calls echo-server, and answers with the message and the
 * identities on both hops, so the reply shows who called whom.
 */
final class EchoHandler implements Handler {

    private static final System.Logger LOGGER = System.getLogger(EchoHandler.class.getName());

    /*
     * curl -d sends application/x-www-form-urlencoded unless told otherwise, and the product's documented command
     * is a plain curl -d '{"message": ...}'. That one form type is read as JSON; every other non-JSON type is 415.
     */
    private static final MediaType CURL_DEFAULT = MediaTypes.APPLICATION_FORM_URLENCODED;
    private static final Duration BODY_TIMEOUT_MARGIN = Duration.ofMillis(250);

    private static final StalledReads STALLED_READS = new StalledReads("gateway-body-timeout");

    private final WorkloadIdentity identity;
    private final UpstreamClient upstream;
    private final int maxBodyBytes;
    private final Duration bodyTimeout;
    private final RequestMetrics metrics;

    EchoHandler(WorkloadIdentity identity, UpstreamClient upstream, int maxBodyBytes, Duration bodyTimeout,
                RequestMetrics metrics) {
        this.identity = identity;
        this.upstream = upstream;
        this.maxBodyBytes = maxBodyBytes;
        this.bodyTimeout = bodyTimeout;
        this.metrics = metrics;
    }

    @Override
    public void handle(ServerRequest request, ServerResponse response) {
        long start = System.nanoTime();
        try {
            echo(request, response);
        } catch (GatewayError e) {
            if (e.status() != 408) {
                JsonResponses.error(response, e.status(), e.getMessage());
                return;
            }
            // the rest of the body is never read, so the connection cannot carry another request; Helidon 4.5 keeps
            // a connection open after a "Connection: close" response, so it is closed here once the 408 is sent
            response.header(HeaderValues.CONNECTION_CLOSE);
            JsonResponses.error(response, 408, e.getMessage());
            metrics.record(408, System.nanoTime() - start);
            throw new CloseConnectionException("request body slower than gateway.body.timeout");
        }
    }

    private void echo(ServerRequest request, ServerResponse response) {
        checkContentType(request);
        String message = readMessage(request);
        SpiffeId caller = request.remotePeer().tlsCertificates()
                .flatMap(PeerIds::fromChain)
                .orElseThrow(() -> new GatewayError(401, "the connection carries no client X.509-SVID"));

        EchoReply reply = call(message);

        JsonObject body = JsonResponses.JSON.createObjectBuilder()
                .add("message", reply.getMessage())
                .add("server", JsonResponses.JSON.createObjectBuilder()
                        .add("id", reply.getServerId())
                        .add("caller", reply.getCallerId()))
                .add("gateway", JsonResponses.JSON.createObjectBuilder()
                        .add("id", identity.spiffeId())
                        .add("caller", caller.toString()))
                .build();
        JsonResponses.send(response, 200, body);
    }

    private static void checkContentType(ServerRequest request) {
        Optional<HttpMediaType> type = request.headers().contentType();
        if (type.isEmpty()) {
            return;
        }
        MediaType media = type.get().mediaType();
        boolean json = media.equals(MediaTypes.APPLICATION_JSON) || media.subtype().endsWith("+json");
        if (!json && !media.equals(CURL_DEFAULT)) {
            throw new GatewayError(415, "Content-Type " + media.text() + " is not supported: send application/json");
        }
    }

    private String readMessage(ServerRequest request) {
        OptionalLong length = request.headers().contentLength();
        if (length.isPresent() && length.getAsLong() > maxBodyBytes) {
            throw tooLarge(length.getAsLong());
        }
        byte[] bytes = readBounded(request);
        String text = utf8(bytes);
        if (text.isBlank()) {
            throw new GatewayError(400, "the request body is empty: send {\"message\": \"...\"}");
        }

        JsonValue value;
        try (JsonParser parser = JsonResponses.JSON.createParser(new StringReader(text))) {
            parser.next();
            value = parser.getValue();
            if (parser.hasNext()) {
                throw new GatewayError(400, "the request body holds more than one JSON value: send one object");
            }
        } catch (GatewayError e) {
            throw e;
        } catch (RuntimeException e) {
            // Parsson reports nesting deeper than its limit (1000) as a plain RuntimeException, not a JsonException
            throw new GatewayError(400, "the request body is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (value.getValueType() != JsonValue.ValueType.OBJECT) {
            throw new GatewayError(400, "the request body must be a JSON object like {\"message\": \"...\"}, got "
                    + typeName(value));
        }
        JsonValue message = value.asJsonObject().get("message");
        if (message == null) {
            throw new GatewayError(400, "field \"message\" is missing: send {\"message\": \"...\"}");
        }
        if (!(message instanceof JsonString string)) {
            throw new GatewayError(400, "field \"message\" must be a string, got " + typeName(message));
        }
        return string.getString();
    }

    private byte[] readBounded(ServerRequest request) {
        if (!request.content().hasEntity()) {
            return new byte[0];
        }
        long start = System.nanoTime();
        // a client that sends nothing more is only stopped by interrupting the read, which closes the connection
        StalledReads.Read read = STALLED_READS.start(bodyTimeout.plus(BODY_TIMEOUT_MARGIN));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try (InputStream in = request.content().inputStream()) {
            int length;
            while ((length = in.read(buffer)) != -1) {
                if (out.size() + length > maxBodyBytes) {
                    throw tooLarge(out.size() + (long) length);
                }
                out.write(buffer, 0, length);
                if (System.nanoTime() - start > bodyTimeout.toNanos()) {
                    // a trickling client: the connection still works, so it hears why
                    throw new GatewayError(408, "the request body took longer than " + bodyTimeout.toMillis()
                            + " ms to arrive, the limit (gateway.body.timeout)");
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof GatewayError error) {
                throw error;
            }
            if (read.finish()) {
                metrics.record(408, System.nanoTime() - start);
                LOGGER.log(Level.WARNING, "Closed a connection from {0} whose request body stalled for over {1} ms "
                        + "(gateway.body.timeout)", request.remotePeer().address(), bodyTimeout.toMillis());
                throw new CloseConnectionException("request body stalled past gateway.body.timeout", e);
            }
            throw new GatewayError(400, "the request body could not be read: " + e.getMessage());
        } finally {
            read.finish();
        }
        return out.toByteArray();
    }

    private GatewayError tooLarge(long size) {
        return new GatewayError(413, "the request body is " + (size > maxBodyBytes ? "over " : "")
                + maxBodyBytes + " bytes, the limit (gateway.max.body.bytes)");
    }

    private static String utf8(byte[] bytes) {
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new GatewayError(400, "the request body is not valid UTF-8");
        }
    }

    private EchoReply call(String message) {
        try {
            return upstream.echo(message);
        } catch (StatusRuntimeException e) {
            throw upstreamError(e);
        }
    }

    static GatewayError upstreamError(StatusRuntimeException e) {
        Status status = e.getStatus();
        String detail = status.getDescription() == null ? status.getCode().name() : status.getDescription();
        return switch (status.getCode()) {
            case DEADLINE_EXCEEDED -> new GatewayError(504, "echo-server did not answer within the deadline");
            case INVALID_ARGUMENT -> new GatewayError(400, "echo-server refused the message: " + detail);
            case UNAVAILABLE -> refusedIdentity(e)
                    ? logged(502, "echo-server's TLS identity was refused: " + rootMessage(e), e)
                    : logged(503, "echo-server is unavailable: " + detail, e);
            default -> logged(502, "echo-server failed the call with " + status.getCode() + ": " + detail, e);
        };
    }

    private static boolean refusedIdentity(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof CertificateException) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return firstLine(String.valueOf(root.getMessage()));
    }

    private static GatewayError logged(int status, String message, StatusRuntimeException e) {
        LOGGER.log(Level.WARNING, "Failed to call echo-server, answering {0}: {1}", status, message);
        return new GatewayError(status, message);
    }

    private static String typeName(JsonValue value) {
        return switch (value.getValueType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case TRUE, FALSE -> "a boolean";
            case NULL -> "null";
        };
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "malformed input";
        }
        int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
