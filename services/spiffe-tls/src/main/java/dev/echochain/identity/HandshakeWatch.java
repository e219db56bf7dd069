package dev.echochain.identity;

import java.nio.ByteBuffer;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * Counts the mutual-TLS handshakes that the JDK refuses before any trust manager runs, so that they reach the
 * {@code tls.handshakes} metric and the log like every other refusal: a client that sends no certificate, one that
 * offers only an older TLS version, and plaintext sent to the TLS port.
 *
 * <p>The JDK ends those handshakes inside {@link SSLEngine#unwrap} and {@link SSLEngine#wrap}; the only place to see
 * them is around the engine. The watched context hands out engines that pass every call to the JDK's engine and
 * classify the handshake exception they throw, by the JDK's own messages; any other failure is left alone, because
 * the trust manager has counted it already or it is not a refusal.
 */
final class HandshakeWatch {

    private static final List<Rule> RULES = List.of(
            new Rule("Empty client certificate chain", RejectReason.NO_CERTIFICATE),
            new Rule("certificate_required", RejectReason.NO_CERTIFICATE),
            new Rule("protocol_version", RejectReason.PROTOCOL_VERSION),
            new Rule("No appropriate protocol", RejectReason.PROTOCOL_VERSION),
            new Rule("Unsupported or unrecognized SSL message", RejectReason.NOT_TLS),
            new Rule("plaintext connection", RejectReason.NOT_TLS));

    private HandshakeWatch() {
    }

    /**
     * Wraps a server context so that the engines it creates report early refusals to the authorizer.
     *
     * @param context    an initialized server context
     * @param authorizer where refusals are counted
     * @return the watched context
     */
    static SSLContext watch(SSLContext context, PeerAuthorizer authorizer) {
        return new WatchedContext(context, authorizer);
    }

    static Optional<RejectReason> classify(SSLException e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            String message = String.valueOf(cause.getMessage());
            for (Rule rule : RULES) {
                if (message.contains(rule.text())) {
                    return Optional.of(rule.reason());
                }
            }
        }
        return Optional.empty();
    }

    private record Rule(String text, RejectReason reason) {
    }

    private static final class WatchedContext extends SSLContext {
        WatchedContext(SSLContext context, PeerAuthorizer authorizer) {
            super(new Spi(context, authorizer), context.getProvider(), context.getProtocol());
        }
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext context;
        private final PeerAuthorizer authorizer;

        Spi(SSLContext context, PeerAuthorizer authorizer) {
            this.context = context;
            this.authorizer = authorizer;
        }

        @Override
        protected void engineInit(KeyManager[] keys, TrustManager[] trust, SecureRandom random)
                throws KeyManagementException {
            throw new KeyManagementException("A watched TLS context is initialized already");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return context.getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return context.getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return new WatchedEngine(context.createSSLEngine(), authorizer);
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return new WatchedEngine(context.createSSLEngine(host, port), authorizer);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return context.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return context.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return context.getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return context.getSupportedSSLParameters();
        }
    }

    /** Passes every call to the JDK's engine; notes the first handshake refusal it throws. */
    private static final class WatchedEngine extends SSLEngine {
        private final SSLEngine engine;
        private final PeerAuthorizer authorizer;
        private boolean reported;

        WatchedEngine(SSLEngine engine, PeerAuthorizer authorizer) {
            super(engine.getPeerHost(), engine.getPeerPort());
            this.engine = engine;
            this.authorizer = authorizer;
        }

        @Override
        public SSLEngineResult wrap(ByteBuffer[] sources, int offset, int length, ByteBuffer target)
                throws SSLException {
            try {
                return engine.wrap(sources, offset, length, target);
            } catch (SSLException e) {
                throw report(e);
            }
        }

        @Override
        public SSLEngineResult unwrap(ByteBuffer source, ByteBuffer[] targets, int offset, int length)
                throws SSLException {
            try {
                return engine.unwrap(source, targets, offset, length);
            } catch (SSLException e) {
                throw report(e);
            }
        }

        private SSLException report(SSLException e) {
            if (!reported) {
                reported = true;
                classify(e).ifPresent(reason -> authorizer.refusedBeforeVerification(reason,
                        engine.getPeerHost() + ":" + engine.getPeerPort(), e.getMessage()));
            }
            return e;
        }

        @Override
        public Runnable getDelegatedTask() {
            return engine.getDelegatedTask();
        }

        @Override
        public void closeInbound() throws SSLException {
            engine.closeInbound();
        }

        @Override
        public boolean isInboundDone() {
            return engine.isInboundDone();
        }

        @Override
        public void closeOutbound() {
            engine.closeOutbound();
        }

        @Override
        public boolean isOutboundDone() {
            return engine.isOutboundDone();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return engine.getSupportedCipherSuites();
        }

        @Override
        public String[] getEnabledCipherSuites() {
            return engine.getEnabledCipherSuites();
        }

        @Override
        public void setEnabledCipherSuites(String[] suites) {
            engine.setEnabledCipherSuites(suites);
        }

        @Override
        public String[] getSupportedProtocols() {
            return engine.getSupportedProtocols();
        }

        @Override
        public String[] getEnabledProtocols() {
            return engine.getEnabledProtocols();
        }

        @Override
        public void setEnabledProtocols(String[] protocols) {
            engine.setEnabledProtocols(protocols);
        }

        @Override
        public SSLSession getSession() {
            return engine.getSession();
        }

        @Override
        public SSLSession getHandshakeSession() {
            return engine.getHandshakeSession();
        }

        @Override
        public void beginHandshake() throws SSLException {
            try {
                engine.beginHandshake();
            } catch (SSLException e) {
                throw report(e);
            }
        }

        @Override
        public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
            return engine.getHandshakeStatus();
        }

        @Override
        public void setUseClientMode(boolean mode) {
            engine.setUseClientMode(mode);
        }

        @Override
        public boolean getUseClientMode() {
            return engine.getUseClientMode();
        }

        @Override
        public void setNeedClientAuth(boolean need) {
            engine.setNeedClientAuth(need);
        }

        @Override
        public boolean getNeedClientAuth() {
            return engine.getNeedClientAuth();
        }

        @Override
        public void setWantClientAuth(boolean want) {
            engine.setWantClientAuth(want);
        }

        @Override
        public boolean getWantClientAuth() {
            return engine.getWantClientAuth();
        }

        @Override
        public void setEnableSessionCreation(boolean flag) {
            engine.setEnableSessionCreation(flag);
        }

        @Override
        public boolean getEnableSessionCreation() {
            return engine.getEnableSessionCreation();
        }

        @Override
        public SSLParameters getSSLParameters() {
            return engine.getSSLParameters();
        }

        @Override
        public void setSSLParameters(SSLParameters parameters) {
            engine.setSSLParameters(parameters);
        }

        @Override
        public String getApplicationProtocol() {
            return engine.getApplicationProtocol();
        }

        @Override
        public String getHandshakeApplicationProtocol() {
            return engine.getHandshakeApplicationProtocol();
        }

        @Override
        public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
            // the JDK calls the selector with its own engine; the selector may compare it with this one
            engine.setHandshakeApplicationProtocolSelector(selector == null ? null
                    : (inner, protocols) -> selector.apply(this, protocols));
        }

        @Override
        public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
            return engine.getHandshakeApplicationProtocolSelector();
        }
    }
}
