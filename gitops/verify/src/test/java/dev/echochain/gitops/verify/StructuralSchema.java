package dev.echochain.gitops.verify;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The field paths a custom resource may use, taken from its upstream schema: Argo CD v3.5.1
 * (pkg/apis/application/v1alpha1/types.go) and the Traefik CRDs of chart 41.3.0 (traefik/crds/).
 * Paths use dots, and {@code []} for list items. Everything under a free path is not checked.
 */
final class StructuralSchema {

    private static final List<String> METADATA = List.of(
            "apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.finalizers[]");

    private static final List<String> METADATA_FREE = List.of("metadata.labels", "metadata.annotations");

    private static final List<String> APP_SOURCE = List.of(
            "repoURL", "path", "targetRevision", "chart", "ref", "name",
            "helm.valueFiles[]", "helm.parameters[].name", "helm.parameters[].value",
            "helm.parameters[].forceString", "helm.releaseName", "helm.values", "helm.skipCrds",
            "helm.ignoreMissingValueFiles", "helm.passCredentials", "helm.skipSchemaValidation",
            "helm.skipTests", "helm.namespace", "helm.kubeVersion", "helm.apiVersions[]", "helm.version",
            "kustomize.patches[].path", "kustomize.patches[].patch", "kustomize.patches[].target.group",
            "kustomize.patches[].target.version", "kustomize.patches[].target.kind",
            "kustomize.patches[].target.name", "kustomize.patches[].target.namespace",
            "kustomize.patches[].target.labelSelector", "kustomize.patches[].target.annotationSelector",
            "kustomize.namePrefix", "kustomize.nameSuffix", "kustomize.images[]", "kustomize.namespace",
            "kustomize.components[]", "kustomize.version");

    private static final List<String> APP_SOURCE_FREE = List.of(
            "helm.valuesObject", "kustomize.commonLabels", "kustomize.commonAnnotations",
            "kustomize.patches[].options", "directory", "plugin");

    private static final Map<String, StructuralSchema> SCHEMAS = Map.of(
            "argoproj.io/v1alpha1/Application", application(),
            "traefik.io/v1alpha1/ServersTransport", new StructuralSchema(join(METADATA, List.of(
                    "spec.serverName", "spec.insecureSkipVerify", "spec.rootCAs[].configMap",
                    "spec.rootCAs[].secret", "spec.rootCAsSecrets[]", "spec.certificatesSecrets[]",
                    "spec.maxIdleConnsPerHost", "spec.disableHTTP2", "spec.peerCertURI", "spec.cipherSuites[]",
                    "spec.minVersion", "spec.maxVersion", "spec.spiffe.ids[]", "spec.spiffe.trustDomain",
                    "spec.forwardingTimeouts.dialTimeout", "spec.forwardingTimeouts.idleConnTimeout",
                    "spec.forwardingTimeouts.pingTimeout", "spec.forwardingTimeouts.readIdleTimeout",
                    "spec.forwardingTimeouts.responseHeaderTimeout")), METADATA_FREE),
            "traefik.io/v1alpha1/IngressRoute", new StructuralSchema(join(METADATA, List.of(
                    "spec.entryPoints[]", "spec.ingressClassName", "spec.parentRefs[].name",
                    "spec.parentRefs[].namespace", "spec.routes[].kind", "spec.routes[].match",
                    "spec.routes[].priority", "spec.routes[].syntax", "spec.routes[].middlewares[].name",
                    "spec.routes[].middlewares[].namespace", "spec.routes[].services[].name",
                    "spec.routes[].services[].namespace", "spec.routes[].services[].kind",
                    "spec.routes[].services[].port", "spec.routes[].services[].scheme",
                    "spec.routes[].services[].serversTransport", "spec.routes[].services[].passHostHeader",
                    "spec.routes[].services[].nativeLB", "spec.routes[].services[].nodePortLB",
                    "spec.routes[].services[].strategy", "spec.routes[].services[].weight",
                    "spec.routes[].services[].middlewares[].name",
                    "spec.routes[].services[].middlewares[].namespace", "spec.tls.certResolver",
                    "spec.tls.domains[].main", "spec.tls.domains[].sans[]", "spec.tls.options.name",
                    "spec.tls.options.namespace", "spec.tls.secretName", "spec.tls.store.name",
                    "spec.tls.store.namespace")),
                    join(METADATA_FREE, List.of("spec.routes[].observability",
                            "spec.routes[].services[].healthCheck", "spec.routes[].services[].passiveHealthCheck",
                            "spec.routes[].services[].responseForwarding", "spec.routes[].services[].sticky"))));

    private final Set<String> allowed;
    private final List<String> free;

    private StructuralSchema(List<String> leafPaths, List<String> free) {
        Set<String> all = new HashSet<>();
        for (String path : leafPaths) {
            for (int i = 0; i < path.length(); i++) {
                if (path.charAt(i) == '.' || path.startsWith("[]", i)) {
                    all.add(path.substring(0, i));
                }
            }
            all.add(path);
        }
        all.addAll(free);
        this.allowed = Set.copyOf(all);
        this.free = List.copyOf(free);
    }

    static StructuralSchema forType(String type) {
        return SCHEMAS.get(type);
    }

    private static StructuralSchema application() {
        List<String> paths = new ArrayList<>(METADATA);
        paths.addAll(List.of("spec.project", "spec.destination.server", "spec.destination.namespace",
                "spec.destination.name", "spec.revisionHistoryLimit",
                "spec.syncPolicy.automated.prune", "spec.syncPolicy.automated.selfHeal",
                "spec.syncPolicy.automated.allowEmpty", "spec.syncPolicy.automated.enabled",
                "spec.syncPolicy.syncOptions[]", "spec.syncPolicy.retry.limit", "spec.syncPolicy.retry.refresh",
                "spec.syncPolicy.retry.backoff.duration", "spec.syncPolicy.retry.backoff.factor",
                "spec.syncPolicy.retry.backoff.maxDuration", "spec.ignoreDifferences[].group",
                "spec.ignoreDifferences[].kind", "spec.ignoreDifferences[].name",
                "spec.ignoreDifferences[].namespace", "spec.ignoreDifferences[].jsonPointers[]",
                "spec.ignoreDifferences[].jqPathExpressions[]", "spec.ignoreDifferences[].managedFieldsManagers[]"));
        List<String> free = new ArrayList<>(METADATA_FREE);
        free.addAll(List.of("spec.info", "spec.syncPolicy.managedNamespaceMetadata"));
        for (String prefix : List.of("spec.source.", "spec.sources[].")) {
            APP_SOURCE.forEach(p -> paths.add(prefix + p));
            APP_SOURCE_FREE.forEach(p -> free.add(prefix + p));
        }
        return new StructuralSchema(paths, free);
    }

    private static List<String> join(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /**
     * A schema of the given leaf paths; a {@code *} segment stands for any map key, such as a router
     * name. Everything under a free path is accepted.
     */
    static StructuralSchema of(List<String> leafPaths, List<String> free) {
        return new StructuralSchema(leafPaths, free);
    }

    /** Every path in the document that the schema does not know. */
    List<String> unknownPaths(Map<String, Object> body) {
        List<String> unknown = new ArrayList<>();
        visit(body, "", "", unknown);
        return unknown;
    }

    private void visit(Object node, String path, String schemaPath, List<String> unknown) {
        if (!schemaPath.isEmpty() && free.contains(schemaPath)) {
            return;
        }
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                String key = String.valueOf(e.getKey());
                String child = path.isEmpty() ? key : path + "." + key;
                String exact = schemaPath.isEmpty() ? key : schemaPath + "." + key;
                String wildcard = schemaPath.isEmpty() ? "*" : schemaPath + ".*";
                if (allowed.contains(exact)) {
                    visit(e.getValue(), child, exact, unknown);
                } else if (allowed.contains(wildcard)) {
                    visit(e.getValue(), child, wildcard, unknown);
                } else {
                    unknown.add(child);
                }
            }
        } else if (node instanceof List<?> list) {
            for (Object item : list) {
                visit(item, path + "[]", schemaPath + "[]", unknown);
            }
        }
    }
}
