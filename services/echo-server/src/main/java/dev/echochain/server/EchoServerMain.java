package dev.echochain.server;

import java.lang.System.Logger.Level;

import dev.echochain.identity.ServerRuntime;
import dev.echochain.identity.WorkloadIdentity;
import io.helidon.config.Config;
import io.helidon.logging.common.LogConfig;

/** Runs echo-server until SIGTERM. */
public final class EchoServerMain {

    private static final System.Logger LOGGER = System.getLogger(EchoServerMain.class.getName());

    private EchoServerMain() {
    }

    /**
     * Starts echo-server with {@code application.yaml} and environment overrides.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        LogConfig.configureRuntime();

        EchoServerConfig config;
        try {
            config = EchoServerConfig.create(Config.create());
        } catch (IllegalArgumentException e) {
            LOGGER.log(Level.ERROR, "Invalid configuration: {0}", e.getMessage());
            System.exit(2);
            return;
        }

        WorkloadIdentity identity = WorkloadIdentity.start(config.identity());

        EchoServer server = EchoServer.start(config, identity);

        try {
            if (!identity.awaitSvid(config.identity().initTimeout())) {
                LOGGER.log(Level.ERROR, "No X.509-SVID from the Workload API at {0} within {1}; exiting. "
                        + "Check that the agent runs and that this workload is registered.",
                        identity.endpoint(), config.identity().initTimeout());
                server.stop();
                identity.close();
                System.exit(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }

        ServerRuntime.awaitShutdown("echo-server", server.webServer(), identity);
    }
}
