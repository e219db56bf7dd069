package dev.echochain.devworkload;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Something that holds the current SVID of one SPIFFE ID and passes each new one on.
 */
interface SvidHolder {

    /**
     * The SPIFFE ID it holds an SVID for.
     *
     * @return the SPIFFE ID
     */
    String spiffeId();

    /**
     * Takes a new SVID or bundle and passes it on to its consumers.
     *
     * @param svid          the current SVID
     * @param bundle        the current trust bundle
     * @param bundleChanged whether the bundle differs from the one last given
     */
    void update(IssuedSvid svid, List<X509Certificate> bundle, boolean bundleChanged);
}
