package dev.echochain.gateway;

import java.util.concurrent.Semaphore;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * {@code server.max.concurrent.requests}: requests beyond the limit get a JSON 503 with {@code Retry-After} at once,
 * so that a flood cannot fill the heap with requests waiting for echo-server.
 *
 * <p>Helidon 4.5 has a limit of its own ({@code maxConcurrentRequests}), but over HTTP/2 it answers with a plain-text
 * body that no direct handler can change; this filter answers both protocols alike.
 */
final class ConcurrencyLimit implements Filter {

    private final int limit;
    private final Semaphore permits;

    ConcurrencyLimit(int limit) {
        this.limit = limit;
        this.permits = new Semaphore(limit);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        if (!permits.tryAcquire()) {
            response.header(HeaderNames.RETRY_AFTER, "1");
            JsonResponses.error(response, 503, "the gateway is already handling " + limit
                    + " requests, its limit (server.max.concurrent.requests): try again shortly");
            return;
        }
        try {
            chain.proceed();
        } finally {
            permits.release();
        }
    }
}
