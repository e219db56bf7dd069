package dev.echochain.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Calls the gateway's {@code POST /echo} over HTTP/1.1 keep-alive connections and mutual TLS, each request written in
 * one segment with TCP_NODELAY, one connection per request in flight (opened on demand, then reused). Presents the
 * load generator's SVID, accepts only the gateway's SPIFFE ID, and checks every reply: status 200 and the exact JSON
 * body with both hops' identities.
 */
final class Http1Caller implements Caller {

    private final Identities ids;
    private final int port;
    private final byte[] request;
    private final String expected;
    private final BlockingQueue<Connection> idle = new ArrayBlockingQueue<>(4096);

    Http1Caller(Identities ids, int port) {
        this.ids = ids;
        this.port = port;
        String body = HttpsCaller.REQUEST_BODY;
        this.request = ("POST /echo HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8);
        this.expected = HttpsCaller.EXPECTED_REPLY;
    }

    @Override
    public void call(Outcome outcome) {
        Thread.startVirtualThread(() -> {
            String error = send();
            outcome.done(error == null, error);
        });
    }

    /** One request; null when the reply was valid, else what was wrong. */
    String send() {
        Connection connection = idle.poll();
        try {
            if (connection == null) {
                connection = new Connection(ids, port);
            }
            String error = connection.exchange(request, expected);
            if (error == null && !idle.offer(connection)) {
                connection.close();
            }
            if (error != null) {
                connection.close();
            }
            return error;
        } catch (IOException | RuntimeException e) {
            if (connection != null) {
                connection.close();
            }
            return "HTTPS " + e;
        }
    }

    boolean probe() {
        return send() == null;
    }

    @Override
    public void close() {
        Connection connection;
        while ((connection = idle.poll()) != null) {
            connection.close();
        }
    }

    /** One keep-alive TLS connection. */
    private static final class Connection {
        private final SSLSocket socket;
        private final OutputStream out;
        private final InputStream in;

        Connection(Identities ids, int port) throws IOException {
            socket = (SSLSocket) ids.clientContext(Identities.GATEWAY_ID).getSocketFactory()
                    .createSocket("127.0.0.1", port);
            SSLParameters tls = socket.getSSLParameters();
            tls.setProtocols(new String[] {"TLSv1.3"});
            tls.setApplicationProtocols(new String[] {"http/1.1"});
            socket.setSSLParameters(tls);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 4096);
        }

        String exchange(byte[] request, String expected) throws IOException {
            out.write(request);
            out.flush();
            String status = line();
            int length = -1;
            for (String header = line(); !header.isEmpty(); header = line()) {
                int colon = header.indexOf(':');
                if (colon > 0 && header.substring(0, colon).equalsIgnoreCase("content-length")) {
                    length = Integer.parseInt(header.substring(colon + 1).strip());
                }
            }
            if (length < 0) {
                return "HTTPS reply without Content-Length: " + status;
            }
            String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
            if (!status.startsWith("HTTP/1.1 200 ") || !expected.equals(body)) {
                return "HTTPS " + status + " " + body.strip();
            }
            return null;
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new IOException("connection closed by the gateway");
                }
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            return line.toString();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
