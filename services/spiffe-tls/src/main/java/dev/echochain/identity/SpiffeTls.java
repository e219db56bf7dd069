package dev.echochain.identity;

import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import io.helidon.common.tls.Tls;
import io.helidon.common.tls.TlsClientAuth;
import io.spiffe.provider.SpiffeKeyManager;

/**
 * Builds TLS settings from a {@link WorkloadIdentity}: TLS 1.3 only, the current SVID as the local certificate, and a
 * {@link PeerAuthorizer} as the only trust decision.
 *
 * <p>The {@link SSLContext} holds java-spiffe's key manager, which reads the SVID at every handshake, so no reload is
 * needed when the SVID or the bundle rotates. Helidon's {@code WebServer.reloadTls} is therefore never used.
 */
public final class SpiffeTls {

    /** The only protocol offered or accepted. */
    public static final String PROTOCOL = "TLSv1.3";

    /** How long a client may take to complete its handshake unless a service says otherwise. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private SpiffeTls() {
    }

    /**
     * Creates an SSL context that presents the workload's SVID and trusts only what the authorizer accepts.
     *
     * @param identity   the workload's SVID and bundle source
     * @param authorizer the peer allowlist
     * @return an initialized context for protocol "TLS"
     * @throws IllegalStateException when the JDK cannot create a TLS context
     */
    public static SSLContext sslContext(WorkloadIdentity identity, PeerAuthorizer authorizer) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(new KeyManager[] {new SpiffeKeyManager(identity)}, new TrustManager[] {authorizer}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Failed to create a TLS context: " + e.getMessage(), e);
        }
    }

    /**
     * TLS for a server socket: mutual TLS with the client certificate required, and a handshake of at most
     * {@link #DEFAULT_HANDSHAKE_TIMEOUT}.
     *
     * @param identity   the workload's SVID and bundle source
     * @param authorizer the callers that may connect
     * @return Helidon TLS settings
     */
    public static Tls server(WorkloadIdentity identity, PeerAuthorizer authorizer) {
        return server(identity, authorizer, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /**
     * TLS for a server socket: mutual TLS with the client certificate required. A client that has not completed its
     * handshake within the timeout loses its connection, and the refusal is counted as {@code handshake_timeout}.
     *
     * @param identity         the workload's SVID and bundle source
     * @param authorizer       the callers that may connect
     * @param handshakeTimeout how long a client may take to complete the handshake
     * @return Helidon TLS settings
     */
    public static Tls server(WorkloadIdentity identity, PeerAuthorizer authorizer, Duration handshakeTimeout) {
        return Tls.builder()
                .sslContext(HandshakeWatch.watch(sslContext(identity, authorizer), authorizer, handshakeTimeout))
                .clientAuth(TlsClientAuth.REQUIRED)
                .enabledProtocols(List.of(PROTOCOL))
                .endpointIdentificationAlgorithm(Tls.ENDPOINT_IDENTIFICATION_NONE)
                .build();
    }

    /**
     * TLS for a Helidon client: presents the SVID and accepts only the servers the authorizer allows.
     *
     * @param identity   the workload's SVID and bundle source
     * @param authorizer the servers that may be called
     * @return Helidon TLS settings
     */
    public static Tls client(WorkloadIdentity identity, PeerAuthorizer authorizer) {
        return Tls.builder()
                .sslContext(sslContext(identity, authorizer))
                .enabledProtocols(List.of(PROTOCOL))
                .endpointIdentificationAlgorithm(Tls.ENDPOINT_IDENTIFICATION_NONE)
                .build();
    }
}
