package dev.echochain.identity;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Security;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The crypto provider choice: ACCP first when asked and loadable, the JDK's otherwise. */
@Timeout(30)
class CryptoProviderTest {

    @AfterEach
    void restoreJdkProviders() {
        Security.removeProvider(AmazonCorrettoCryptoProvider.PROVIDER_NAME);
    }

    @Test
    void putsAccpFirstAndItsSignaturesVerifyWithTheJdk() throws Exception {
        String first = CryptoProvider.install("accp");

        assertThat("ACCP loads on linux-x86_64", first, is(AmazonCorrettoCryptoProvider.PROVIDER_NAME));
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = generator.generateKeyPair();
        Signature sign = Signature.getInstance("SHA256withECDSA");
        assertThat("P-256 signing comes from ACCP", sign.getProvider().getName(),
                is(AmazonCorrettoCryptoProvider.PROVIDER_NAME));
        byte[] data = "handshake transcript".getBytes(StandardCharsets.UTF_8);
        sign.initSign(keys.getPrivate());
        sign.update(data);
        byte[] signature = sign.sign();

        // assert that the JDK's own EC code accepts what ACCP signed
        Signature verify = Signature.getInstance("SHA256withECDSA", "SunEC");
        verify.initVerify(keys.getPublic());
        verify.update(data);
        assertThat("SunEC verifies an ACCP signature", verify.verify(signature), is(true));
    }

    @Test
    void leavesTheJdkProvidersInChargeWhenAskedFor() {
        String first = CryptoProvider.install("jdk");

        assertThat("the JDK's first provider stays first", first, is("SUN"));
        assertThat("ACCP is not installed", Security.getProvider(AmazonCorrettoCryptoProvider.PROVIDER_NAME) == null,
                is(true));
    }

    @Test
    void rejectsAnUnknownChoiceNamingTheSetting() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> CryptoProvider.install("boringssl"));

        assertThat(error.getMessage(), containsString("crypto.provider (CRYPTO_PROVIDER) must be accp or jdk"));
    }
}
