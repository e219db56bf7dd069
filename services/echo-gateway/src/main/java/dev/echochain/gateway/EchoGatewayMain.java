package dev.echochain.gateway;

import dev.echochain.identity.ServerRuntime;

/** Runs echo-gateway until SIGTERM. */
public final class EchoGatewayMain {

    private EchoGatewayMain() {
    }

    /**
     * Starts echo-gateway with {@code application.yaml} and environment overrides.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        ServerRuntime.run("echo-gateway", GatewayConfig::create, GatewayConfig::identity, EchoGateway::start);
    }
}
