package dev.echochain.server;

import dev.echochain.identity.ServerRuntime;

/** Runs echo-server until SIGTERM. */
public final class EchoServerMain {

    private EchoServerMain() {
    }

    /**
     * Starts echo-server with {@code application.yaml} and environment overrides.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        ServerRuntime.run("echo-server", EchoServerConfig::create, EchoServerConfig::identity, EchoServer::start);
    }
}
