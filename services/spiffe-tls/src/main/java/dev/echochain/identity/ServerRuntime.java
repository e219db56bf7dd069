package dev.echochain.identity;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import io.helidon.webserver.WebServer;

/**
 * Runs a started server until the JVM is asked to stop, then drains it and closes the workload identity.
 *
 * <p>On SIGTERM the listeners stop accepting, in-flight requests get the listener's grace period to finish, and only
 * then is the Workload API watch closed, so no request loses its TLS identity halfway.
 */
public final class ServerRuntime {

    private static final System.Logger LOGGER = System.getLogger(ServerRuntime.class.getName());

    private ServerRuntime() {
    }

    /**
     * Installs a shutdown hook that stops the server and then the identity, and blocks until the hook is done.
     *
     * @param service  the service name for log lines
     * @param server   a started server, configured with {@code shutdownHook(false)}
     * @param identity the identity to close after the server
     */
    public static void awaitShutdown(String service, WebServer server, WorkloadIdentity identity) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name(service + "-shutdown").unstarted(() -> {
            long start = System.nanoTime();
            LOGGER.log(Level.INFO, "Stopping {0}: draining in-flight requests", service);
            server.stop();
            identity.close();
            LOGGER.log(Level.INFO, "Stopped {0} in {1} ms", service,
                    Duration.ofNanos(System.nanoTime() - start).toMillis());
            stopped.countDown();
        }));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
