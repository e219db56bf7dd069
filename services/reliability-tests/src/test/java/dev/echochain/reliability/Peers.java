package dev.echochain.reliability;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import dev.echochain.devworkload.IssuedSvid;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.provider.SpiffeTrustManager;
import io.spiffe.spiffeid.SpiffeId;

/**
 * TLS contexts for the test's callers: each presents a certificate chosen by the test (a valid SVID or a hostile
 * one, or none) and accepts only a server with the expected SPIFFE ID under the bundle the supplier returns at that
 * handshake, so CA rotations reach the callers too.
 */
final class Peers {

    private static final char[] PASSWORD = "reliability".toCharArray();

    private Peers() {
    }

    static SSLContext context(IssuedSvid presented, Supplier<List<X509Certificate>> bundle, String serverId) {
        try {
            KeyManager[] keys = new KeyManager[0];
            if (presented != null) {
                KeyManagerFactory factory = KeyManagerFactory.getInstance("PKIX");
                factory.init(presented.keyStore(PASSWORD), PASSWORD);
                keys = factory.getKeyManagers();
            }
            SpiffeTrustManager trust = new SpiffeTrustManager(
                    domain -> new X509Bundle(domain, new HashSet<>(bundle.get())),
                    () -> Set.of(SpiffeId.parse(serverId)));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, new TrustManager[] {trust}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Failed to build a caller's TLS context", e);
        }
    }
}
