package dev.echochain.gateway;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;
import io.helidon.metrics.api.Timer;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * The {@code gateway.requests} timer, tagged by status and status family, counting every answer of the HTTPS socket:
 * routed requests through a routing filter, and requests that Helidon refuses before routing (a malformed request
 * line, headers over the size limit, too many concurrent requests) through a direct handler that also turns
 * Helidon's plain-text refusal into a JSON {@code {"error": "..."}} body. Helidon gives no start time for those, so
 * they are recorded with a duration of zero.
 */
final class RequestMetrics implements Filter, DirectHandler {

    /**
     * Helidon's message for headers over {@code Http1Config.maxHeadersSize}; direct handlers see messages only when
     * the listener's error handling includes them.
     */
    private static final String HEADERS_TOO_LARGE = "Header size exceeded";
    /** Helidon's default {@code maxHeadersSize}, which the gateway keeps. */
    private static final int MAX_HEADERS_BYTES = 16384;
    private static final Status HEADERS_TOO_LARGE_431 = Status.create(431, "Request Header Fields Too Large");

    private final Map<Integer, Timer> timers = new ConcurrentHashMap<>();

    /**
     * Counts one answer.
     *
     * @param status the HTTP status sent
     * @param nanos  how long the request took
     */
    void record(int status, long nanos) {
        timers.computeIfAbsent(status, RequestMetrics::timer).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        long start = System.nanoTime();
        try {
            chain.proceed();
        } catch (CloseConnectionException e) {
            // counted by whoever decided to drop the connection
            throw e;
        } catch (RuntimeException | Error e) {
            record(500, System.nanoTime() - start);
            throw e;
        }
        record(response.status().code(), System.nanoTime() - start);
    }

    @Override
    public TransportResponse handle(TransportRequest request,
                                    EventType eventType,
                                    Status status,
                                    ServerResponseHeaders headers,
                                    String message) {
        if (HEADERS_TOO_LARGE.equals(message)) {
            // Helidon 4.5 answers over-long headers with a bare 400; RFC 6585 has a status of its own for them
            return json(HEADERS_TOO_LARGE_431, headers, false, "the request headers are over " + MAX_HEADERS_BYTES
                    + " bytes, the limit");
        }
        String reason = message == null || message.isBlank() ? status.reasonPhrase() : message;
        return json(status, headers, eventType.keepAlive(), reason);
    }

    private TransportResponse json(Status status, ServerResponseHeaders headers, boolean keepAlive, String reason) {
        record(status.code(), 0);
        String body = JsonResponses.JSON.createObjectBuilder()
                .add("error", "the request was refused before routing: " + reason)
                .build()
                .toString() + "\n";
        return TransportResponse.builder()
                .status(status)
                .headers(headers)
                .header(HeaderNames.CONTENT_TYPE, MediaTypes.APPLICATION_JSON.text())
                .header(HeaderNames.CACHE_CONTROL, "no-store")
                .keepAlive(keepAlive)
                .entity(body)
                .build();
    }

    private static Timer timer(int status) {
        return Metrics.globalRegistry().getOrCreate(Timer.builder("gateway.requests")
                .description("Requests on the HTTPS socket by HTTP status, including those refused before routing")
                .tags(List.of(Tag.create("status", Integer.toString(status)),
                        Tag.create("family", Status.Family.of(status).name().toLowerCase(Locale.ROOT)))));
    }
}
