package dev.echochain.identity;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.helidon.config.Config;
import io.helidon.config.ConfigMappingException;
import io.helidon.logging.common.LogConfig;

/**
 * The life of a service process: logging, configuration, crypto provider, workload identity, start, and a clean stop
 * on SIGTERM.
 *
 * <p>On SIGTERM the listeners stop accepting, in-flight requests get the listener's grace period to finish, and only
 * then is the Workload API watch closed, so no request loses its TLS identity halfway.
 */
public final class ServerRuntime {

    private static final System.Logger LOGGER = System.getLogger(ServerRuntime.class.getName());
    /** How Helidon 4.5 words a value it cannot convert; it gives no accessor for the key. */
    private static final Pattern MAPPING_FAILURE = Pattern.compile("value '(.*)' stored under key '([^']+)'",
            Pattern.DOTALL);

    private ServerRuntime() {
    }

    /** A started service that can be stopped. */
    @FunctionalInterface
    public interface Running {
        /** Stops accepting, lets in-flight work finish within the grace period, and releases resources. */
        void stop();
    }

    /**
     * Runs a service until SIGTERM. Exits with status 2 on invalid configuration, and with 1 when no SVID arrives
     * within the configured init timeout.
     *
     * @param service  the service name for log lines
     * @param settings reads the service's settings from {@code application.yaml} and the environment
     * @param identity picks the identity settings out of the service's settings
     * @param start    starts the service
     * @param <C>      the settings type
     */
    public static <C> void run(String service,
                               Function<Config, C> settings,
                               Function<C, IdentityConfig> identity,
                               BiFunction<C, WorkloadIdentity, ? extends Running> start) {
        LogConfig.configureRuntime();

        C config;
        IdentityConfig identityConfig;
        try {
            Config root = Config.create();
            // before any key or TLS context exists, so that all of them use the chosen provider
            CryptoProvider.install(root.get("crypto.provider").asString().orElse(CryptoProvider.DEFAULT));
            config = settings.apply(root);
            identityConfig = identity.apply(config);
        } catch (IllegalArgumentException e) {
            LOGGER.log(Level.ERROR, "Invalid configuration of {0}: {1}", service, e.getMessage());
            System.exit(2);
            return;
        } catch (ConfigMappingException e) {
            LOGGER.log(Level.ERROR, "Invalid configuration of {0}: {1}", service, describe(e));
            System.exit(2);
            return;
        }

        WorkloadIdentity workload = WorkloadIdentity.start(identityConfig);

        Running running = start.apply(config, workload);

        try {
            if (!workload.awaitSvid(identityConfig.initTimeout())) {
                LOGGER.log(Level.ERROR, "No X.509-SVID from the Workload API at {0} within {1}; exiting. Check that "
                        + "the agent runs and that this workload is registered.", workload.endpoint(),
                        identityConfig.initTimeout());
                running.stop();
                workload.close();
                System.exit(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }

        awaitShutdown(service, running, workload);
    }

    /**
     * Says which setting could not be read, from which environment variable, and what form it needs.
     *
     * @param e Helidon's failure to convert a configured value
     * @return one line naming the key, the value and the expected form
     */
    static String describe(ConfigMappingException e) {
        Matcher matcher = MAPPING_FAILURE.matcher(String.valueOf(e.getMessage()));
        if (!matcher.find()) {
            return e.getMessage();
        }
        String value = matcher.group(1);
        String key = matcher.group(2);
        String expected = switch (e.getCause()) {
            case NumberFormatException ignored -> "a whole number";
            case DateTimeParseException ignored -> "an ISO-8601 duration such as PT10S";
            case null -> "another form";
            default -> "another form (" + e.getCause().getMessage() + ")";
        };
        return key + " (environment " + key.toUpperCase(Locale.ROOT).replace('.', '_') + ") is '" + value
                + "', which is not " + expected;
    }

    private static void awaitShutdown(String service, Running running, WorkloadIdentity workload) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name(service + "-shutdown").unstarted(() -> {
            long start = System.nanoTime();
            LOGGER.log(Level.INFO, "Stopping {0}: draining in-flight requests", service);
            running.stop();
            workload.close();
            LOGGER.log(Level.INFO, "Stopped {0} in {1} ms", service,
                    Duration.ofNanos(System.nanoTime() - start).toMillis());
            stopped.countDown();
            /*
             * After SIGTERM the JVM would end with status 143 even though the drain above finished cleanly. Every
             * request is answered and every resource closed at this point, so the process ends here with status 0,
             * which tells an orchestrator or script that the stop succeeded.
             */
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(0);
        }));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
