package dev.echochain.gitops.verify;

import java.util.List;
import java.util.Map;

/**
 * One YAML document of a rendered kustomization or a values file, with where it came from.
 *
 * @param origin the kustomization directory or file it was read from, for messages
 * @param body the parsed document
 */
record Manifest(String origin, Map<String, Object> body) {

    String apiVersion() {
        return Yaml.string(body, "apiVersion");
    }

    String kind() {
        return Yaml.string(body, "kind");
    }

    String name() {
        return Yaml.string(body, "metadata", "name");
    }

    String namespace() {
        return Yaml.string(body, "metadata", "namespace");
    }

    boolean is(String apiGroupPrefix, String kind) {
        return kind.equals(kind()) && apiVersion() != null && apiVersion().startsWith(apiGroupPrefix);
    }

    /** A short name for messages, such as {@code Deployment echo/echo-server (gitops/apps/echo)}. */
    String describe() {
        String ns = namespace() == null ? "" : namespace() + "/";
        return kind() + " " + ns + name() + " (" + origin + ")";
    }

    /** A deep copy that a negative test may change without touching the original. */
    Manifest copy() {
        return new Manifest(origin, Yaml.deepCopy(body));
    }

    static List<Manifest> ofKind(List<Manifest> manifests, String apiGroupPrefix, String kind) {
        return manifests.stream().filter(m -> m.is(apiGroupPrefix, kind)).toList();
    }
}
