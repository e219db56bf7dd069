package dev.echochain.gateway;

/** A request the gateway answers with an HTTP error status and a JSON {@code {"error": "..."}} body. */
final class GatewayError extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;

    GatewayError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    int status() {
        return status;
    }
}
