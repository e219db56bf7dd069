package dev.echochain.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A TCP relay on loopback between the gateway and echo-server that can slow down the replies, so that a slow
 * echo-server is simulated on real sockets: each chunk from echo-server is held for the current delay, counted from
 * when it arrived, and chunks keep their order.
 */
final class FaultLink implements AutoCloseable {

    private static final System.Logger LOGGER = System.getLogger(FaultLink.class.getName());

    private final ServerSocket listener;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile long delayNanos;
    private volatile boolean closed;

    private FaultLink(ServerSocket listener, int targetPort) {
        this.listener = listener;
        this.targetPort = targetPort;
    }

    static FaultLink start(int targetPort) throws IOException {
        ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        FaultLink link = new FaultLink(listener, targetPort);
        Thread.ofPlatform().daemon().name("fault-link-accept").start(link::accept);
        return link;
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Holds every chunk from echo-server for this long; zero passes them at once. */
    void delayReplies(long millis) {
        delayNanos = TimeUnit.MILLISECONDS.toNanos(millis);
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(server);
                Thread.ofVirtual().start(() -> pump(client, server, false));
                Thread.ofVirtual().start(() -> pump(server, client, true));
            } catch (IOException e) {
                if (!closed) {
                    LOGGER.log(System.Logger.Level.WARNING, "Fault link failed to relay a connection", e);
                }
            }
        }
    }

    private void pump(Socket from, Socket to, boolean delayed) {
        BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Thread.ofVirtual().start(() -> deliver(queue, from, to));
        try (InputStream in = from.getInputStream()) {
            byte[] buffer = new byte[16384];
            int read;
            while ((read = in.read(buffer)) != -1) {
                queue.add(new Chunk(Arrays.copyOf(buffer, read), System.nanoTime() + (delayed ? delayNanos : 0)));
            }
        } catch (IOException e) {
            // the peer went away
        } finally {
            // what was read still arrives, late as it is, and only then does the other side see the end
            queue.add(new Chunk(null, System.nanoTime() + (delayed ? delayNanos : 0)));
        }
    }

    private static void deliver(BlockingQueue<Chunk> queue, Socket from, Socket to) {
        try {
            OutputStream out = to.getOutputStream();
            while (true) {
                Chunk chunk = queue.take();
                long wait = chunk.due() - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                if (chunk.bytes() == null) {
                    break;
                }
                out.write(chunk.bytes());
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the receiving side went away
        } finally {
            closeQuietly(to);
            closeQuietly(from);
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        sockets.forEach(FaultLink::closeQuietly);
    }

    private record Chunk(byte[] bytes, long due) {
    }
}
