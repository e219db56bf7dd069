package dev.echochain.bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * New mutual-TLS connections, one at a time or open loop: TCP connect, a full TLS 1.3 handshake on P-256 with the
 * load generator's SVID (a fresh context each time, so nothing is resumed), ALPN h2, then the HTTP/2 connection
 * preface; the connection counts only when the server's SETTINGS frame arrives, which proves it has checked the
 * client's certificate. The same exchange works against echo-server, grpc-java and nginx.
 */
final class Handshakes {

    private static final byte[] PREFACE;
    private static final int MAX_PENDING = 64;

    static {
        byte[] magic = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        PREFACE = new byte[magic.length + 9];
        System.arraycopy(magic, 0, PREFACE, 0, magic.length);
        PREFACE[magic.length + 3] = 0x4;
    }

    private Handshakes() {
    }

    /** Opens one connection as described above and returns the certificate the server presented. */
    static X509Certificate connect(Identities ids, int port, String expectedId) throws IOException {
        try (SSLSocket socket = (SSLSocket) ids.clientContext(expectedId).getSocketFactory()
                .createSocket("127.0.0.1", port)) {
            SSLParameters tls = socket.getSSLParameters();
            tls.setProtocols(new String[] {"TLSv1.3"});
            tls.setNamedGroups(new String[] {"secp256r1"});
            tls.setApplicationProtocols(new String[] {"h2"});
            socket.setSSLParameters(tls);
            socket.setSoTimeout(5000);
            socket.setTcpNoDelay(true);
            socket.startHandshake();
            if (!"h2".equals(socket.getApplicationProtocol())) {
                throw new IOException("server did not select ALPN h2 but '" + socket.getApplicationProtocol() + "'");
            }
            OutputStream out = socket.getOutputStream();
            out.write(PREFACE);
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            for (int frames = 0; frames < 16; frames++) {
                int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                in.readInt();
                in.skipNBytes(length);
                if (type == 0x4 && (flags & 0x1) == 0) {
                    return (X509Certificate) socket.getSession().getPeerCertificates()[0];
                }
            }
            throw new IOException("no SETTINGS frame from the server in its first 16 frames");
        }
    }

    /** Outcome of an open-loop run; {@code skipped} connections were not offered because 64 were still pending. */
    record Run(long ok, long failed, long skipped, double seconds, String firstError) {
    }

    /**
     * Opens new connections at a fixed rate, each on its own virtual thread, whatever the earlier ones do, with at
     * most 64 pending: a server slower than the rate sees a bounded backlog, and the skipped connections say so.
     */
    static Run openLoop(Identities ids, int port, String expectedId, double rate, Duration length)
            throws InterruptedException {
        Semaphore pending = new Semaphore(MAX_PENDING);
        AtomicLong skipped = new AtomicLong();
        long total = Math.round(rate * length.toNanos() / 1e9);
        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch((int) total);
        double interval = 1e9 / rate;
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long k = 0; k < total; k++) {
                long wait = start + (long) (k * interval) - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
                if (!pending.tryAcquire()) {
                    skipped.incrementAndGet();
                    done.countDown();
                    continue;
                }
                threads.execute(() -> {
                    try {
                        connect(ids, port, expectedId);
                        ok.incrementAndGet();
                    } catch (IOException | RuntimeException e) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, e.toString());
                    } finally {
                        pending.release();
                        done.countDown();
                    }
                });
            }
            done.await(30, TimeUnit.SECONDS);
        }
        return new Run(ok.get(), failed.get(), skipped.get(), (System.nanoTime() - start) / 1e9, firstError.get());
    }
}
