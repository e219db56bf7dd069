package dev.echochain.identity;

import java.nio.ByteBuffer;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
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
 * offers only an older TLS version, and plaintext sent to the TLS port. It also ends handshakes that do not finish
 * in time: Helidon 4.5 reads from a blocking NIO channel without a read timeout, so a client that connects and sends
 * half a handshake would otherwise hold a connection, and one of {@code server.max.connections}, for ever, without
 * ever showing a certificate.
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

    private static final ScheduledThreadPoolExecutor TIMEOUTS = timer("tls-handshake-timeout");

    private HandshakeWatch() {
    }

    /**
     * Wraps a server context so that the engines it creates report early refusals to the authorizer.
     *
     * @param context    an initialized server context
     * @param authorizer where refusals are counted
     * @return the watched context
     */
    static SSLContext watch(SSLContext context, PeerAuthorizer authorizer, Duration handshakeTimeout) {
        return new WatchedContext(context, authorizer, handshakeTimeout);
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
        WatchedContext(SSLContext context, PeerAuthorizer authorizer, Duration handshakeTimeout) {
            super(new Spi(context, authorizer, handshakeTimeout), context.getProvider(), context.getProtocol());
        }
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext context;
        private final PeerAuthorizer authorizer;
        private final Duration handshakeTimeout;

        Spi(SSLContext context, PeerAuthorizer authorizer, Duration handshakeTimeout) {
            this.context = context;
            this.authorizer = authorizer;
            this.handshakeTimeout = handshakeTimeout;
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
            // an engine without a peer serves only to read parameters; it never handshakes, so it has no deadline
            return new WatchedEngine(context.createSSLEngine(), authorizer, null);
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return new WatchedEngine(context.createSSLEngine(host, port), authorizer, handshakeTimeout);
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

    /**
     * Passes every call to the JDK's engine; notes the first handshake refusal it throws, and ends the connection
     * when the handshake is not done in time.
     */
    private static final class WatchedEngine extends SSLEngine {
        private final SSLEngine engine;
        private final PeerAuthorizer authorizer;
        private final Duration handshakeTimeout;
        private final Future<?> deadline;
        private volatile boolean handshakeDone;
        private volatile boolean reported;

        /*
         * Helidon creates the engine on the connection's own thread, which then reads the handshake from the socket;
         * interrupting that thread closes the channel and ends the read.
         */
        WatchedEngine(SSLEngine engine, PeerAuthorizer authorizer, Duration handshakeTimeout) {
            super(engine.getPeerHost(), engine.getPeerPort());
            this.engine = engine;
            this.authorizer = authorizer;
            this.handshakeTimeout = handshakeTimeout;
            Thread connection = Thread.currentThread();
            this.deadline = handshakeTimeout == null ? CompletableFuture.completedFuture(null)
                    : TIMEOUTS.schedule(() -> expire(connection), handshakeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public SSLEngineResult wrap(ByteBuffer[] sources, int offset, int length, ByteBuffer target)
                throws SSLException {
            try {
                return observe(engine.wrap(sources, offset, length, target));
            } catch (SSLException e) {
                throw report(e);
            }
        }

        @Override
        public SSLEngineResult unwrap(ByteBuffer source, ByteBuffer[] targets, int offset, int length)
                throws SSLException {
            try {
                return observe(engine.unwrap(source, targets, offset, length));
            } catch (SSLException e) {
                throw report(e);
            }
        }

        private SSLEngineResult observe(SSLEngineResult result) {
            if (!handshakeDone && result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                handshakeDone = true;
                deadline.cancel(false);
            }
            return result;
        }

        private void expire(Thread connection) {
            boolean established = engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
                    && !"SSL_NULL_WITH_NULL_NULL".equals(engine.getSession().getCipherSuite());
            if (handshakeDone || established || reported) {
                return;
            }
            reported = true;
            authorizer.refusedBeforeVerification(RejectReason.HANDSHAKE_TIMEOUT,
                    engine.getPeerHost() + ":" + engine.getPeerPort(),
                    "no complete handshake within " + handshakeTimeout.toMillis() + " ms; closing the connection");
            connection.interrupt();
        }

        private SSLException report(SSLException e) {
            deadline.cancel(false);
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
            deadline.cancel(false);
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

    /* One timer thread; a cancelled deadline leaves the queue at once, so finished work holds no memory. */
    private static ScheduledThreadPoolExecutor timer(String name) {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name(name).factory());
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }
}
