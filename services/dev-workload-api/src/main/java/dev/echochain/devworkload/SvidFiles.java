package dev.echochain.devworkload;

import java.nio.file.Path;

/**
 * The PEM files of one X.509-SVID: its chain, its PKCS#8 key and the trust bundle.
 *
 * @param svid   the certificate chain, leaf first ({@code svid.pem})
 * @param key    the PKCS#8 private key ({@code key.pem})
 * @param bundle the trust bundle's CA certificates ({@code bundle.pem})
 */
public record SvidFiles(Path svid, Path key, Path bundle) {

    /** File name of the certificate chain. */
    public static final String SVID_FILE = "svid.pem";
    /** File name of the private key. */
    public static final String KEY_FILE = "key.pem";
    /** File name of the trust bundle. */
    public static final String BUNDLE_FILE = "bundle.pem";

    /**
     * The standard file names inside a directory.
     *
     * @param dir the directory
     * @return the paths
     */
    public static SvidFiles in(Path dir) {
        return new SvidFiles(dir.resolve(SVID_FILE), dir.resolve(KEY_FILE), dir.resolve(BUNDLE_FILE));
    }
}
