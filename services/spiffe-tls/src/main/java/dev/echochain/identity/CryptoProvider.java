package dev.echochain.identity;

import java.lang.System.Logger.Level;
import java.security.Security;
import java.util.Locale;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;

/**
 * Chooses the JCA provider that carries the TLS crypto: Amazon Corretto Crypto Provider (ACCP, native AWS-LC code)
 * first in the list, or the JDK's own providers only.
 *
 * <p>The JDK's P-256 code signs and agrees keys 10 to 20 times slower than native code, and a mutual TLS handshake does
 * both on each side, so ACCP cuts the server's CPU per new connection. Its native library ships for linux-x86_64
 * only; anywhere it cannot load, the JDK's providers stay in charge and one warning says why.
 */
public final class CryptoProvider {

    /** Setting value for ACCP first, falling back to the JDK when it cannot load. */
    public static final String ACCP = "accp";
    /** Setting value for the JDK's own providers only. */
    public static final String JDK = "jdk";
    /** The default choice. */
    public static final String DEFAULT = ACCP;

    private static final System.Logger LOGGER = System.getLogger(CryptoProvider.class.getName());

    private CryptoProvider() {
    }

    /**
     * Installs the chosen provider, once per JVM; call it before any key or TLS context exists.
     *
     * @param choice {@value #ACCP} or {@value #JDK} ({@code crypto.provider}, env {@code CRYPTO_PROVIDER})
     * @return the name of the provider now first in the list
     * @throws IllegalArgumentException when the choice is neither value
     */
    public static String install(String choice) {
        String value = choice == null ? DEFAULT : choice.strip().toLowerCase(Locale.ROOT);
        if (JDK.equals(value)) {
            return Security.getProviders()[0].getName();
        }
        if (!ACCP.equals(value)) {
            throw new IllegalArgumentException("crypto.provider (CRYPTO_PROVIDER) must be " + ACCP + " or " + JDK
                    + ", got '" + choice + "'");
        }
        Throwable failure;
        try {
            failure = AmazonCorrettoCryptoProvider.INSTANCE.getLoadingError();
            if (failure == null) {
                AmazonCorrettoCryptoProvider.install();
                AmazonCorrettoCryptoProvider.INSTANCE.assertHealthy();
            }
        } catch (RuntimeException | LinkageError e) {
            failure = e;
        }
        if (failure == null) {
            LOGGER.log(Level.INFO, "Crypto provider: {0} first, then the JDK''s",
                    AmazonCorrettoCryptoProvider.INSTANCE.getInfo());
        } else {
            Security.removeProvider(AmazonCorrettoCryptoProvider.PROVIDER_NAME);
            LOGGER.log(Level.WARNING, "Native crypto provider ACCP cannot load here ({0}); using the JDK''s providers",
                    failure.toString());
        }
        return Security.getProviders()[0].getName();
    }
}
