package dev.echochain.bench;

import java.time.Duration;
import java.util.List;

import io.helidon.common.socket.SocketOptions;
import io.helidon.common.tls.Tls;
import io.helidon.http.HeaderNames;
import io.helidon.webclient.http2.Http2Client;
import io.helidon.webclient.http2.Http2ClientResponse;

/**
 * Calls the gateway's {@code POST /echo} over HTTP/2 and mutual TLS with Helidon's HTTP/2 client (TCP_NODELAY on,
 * one connection, one virtual thread per request in flight), presenting the load generator's SVID and accepting only
 * the gateway's SPIFFE ID. Every reply is checked: status 200 and the exact JSON body, with both hops' identities.
 */
final class HttpsCaller implements Caller {

    /** The request body of every gateway call. */
    static final String REQUEST_BODY = "{\"message\":\"" + GrpcCaller.MESSAGE + "\"}";
    /** The exact reply body the gateway must send: the message and both hops' identities. */
    static final String EXPECTED_REPLY = "{\"message\":\"" + GrpcCaller.MESSAGE + "\","
            + "\"server\":{\"id\":\"" + Identities.SERVER_ID + "\",\"caller\":\"" + Identities.GATEWAY_ID + "\"},"
            + "\"gateway\":{\"id\":\"" + Identities.GATEWAY_ID + "\",\"caller\":\"" + Identities.CLIENT_ID
            + "\"}}\n";

    private final Http2Client client;
    private final String body;
    private final String expected;

    HttpsCaller(Identities ids, int port) {
        this.client = Http2Client.builder()
                .baseUri("https://127.0.0.1:" + port)
                .tls(Tls.builder()
                        .sslContext(ids.clientContext(Identities.GATEWAY_ID))
                        .enabledProtocols(List.of("TLSv1.3"))
                        .endpointIdentificationAlgorithm(Tls.ENDPOINT_IDENTIFICATION_NONE)
                        .build())
                .socketOptions(SocketOptions.builder()
                        .tcpNoDelay(true)
                        .connectTimeout(Duration.ofSeconds(5))
                        .readTimeout(Duration.ofSeconds(10))
                        .build())
                .build();
        this.body = REQUEST_BODY;
        this.expected = EXPECTED_REPLY;
    }

    @Override
    public void call(Outcome outcome) {
        Thread.startVirtualThread(() -> {
            String error = send();
            outcome.done(error == null, error);
        });
    }

    /** One request; null when the reply was valid, else what was wrong. */
    private String send() {
        try (Http2ClientResponse response = client.post("/echo")
                .header(HeaderNames.CONTENT_TYPE, "application/json")
                .submit(body)) {
            String text = response.as(String.class);
            if (response.status().code() != 200 || !expected.equals(text)) {
                return "HTTPS " + response.status().code() + " " + text.strip();
            }
            return null;
        } catch (RuntimeException e) {
            return "HTTPS " + e;
        }
    }

    /** One blocking call, for start-up probes; true when the reply was valid. */
    boolean probe() {
        return send() == null;
    }

    @Override
    public void close() {
        client.closeResource();
    }
}
