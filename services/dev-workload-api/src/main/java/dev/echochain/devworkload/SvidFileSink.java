package dev.echochain.devworkload;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Keeps the PEM files of one SVID current in a directory, for tools that read files rather than the Workload API.
 */
final class SvidFileSink implements SvidHolder {

    private final String spiffeId;
    private final Path dir;

    SvidFileSink(String spiffeId, Path dir) {
        this.spiffeId = spiffeId;
        this.dir = dir;
    }

    @Override
    public String spiffeId() {
        return spiffeId;
    }

    SvidFiles files() {
        return SvidFiles.in(dir);
    }

    @Override
    public void update(IssuedSvid svid, List<X509Certificate> bundle, boolean bundleChanged) {
        svid.writePem(dir, bundle);
    }
}
