package dev.echochain.devworkload;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Collection;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * PEM text for certificates and PKCS#8 private keys, and files that tools such as curl and openssl read.
 */
public final class Pem {

    private Pem() {
    }

    /**
     * Encodes certificates as consecutive PEM blocks, in the given order.
     *
     * @param certificates the certificates
     * @return PEM text
     */
    public static String certificates(Collection<X509Certificate> certificates) {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            for (X509Certificate certificate : certificates) {
                writer.writeObject(certificate);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to encode certificates as PEM", e);
        }
        return text.toString();
    }

    /**
     * Encodes a private key as an unencrypted PKCS#8 PEM block ({@code BEGIN PRIVATE KEY}).
     *
     * @param key the key
     * @return PEM text
     */
    public static String privateKey(PrivateKey key) {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(new JcaPKCS8Generator(key, null));
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to encode the private key as PKCS#8 PEM", e);
        }
        return text.toString();
    }

    /**
     * Writes certificates to a PEM file, replacing it atomically.
     *
     * @param file         the file
     * @param certificates the certificates
     * @return the file
     */
    public static Path writeCertificates(Path file, Collection<X509Certificate> certificates) {
        return write(file, certificates(certificates), false);
    }

    /**
     * Writes a private key to a PKCS#8 PEM file readable by its owner only, replacing it atomically.
     *
     * @param file the file
     * @param key  the key
     * @return the file
     */
    public static Path writePrivateKey(Path file, PrivateKey key) {
        return write(file, privateKey(key), true);
    }

    private static Path write(Path file, String text, boolean secret) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
                Files.writeString(tmp, text, StandardCharsets.US_ASCII);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to write PEM file " + file, e);
        }
    }
}
