package dev.echochain.gitops.verify;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Parses manifests strictly. Core kinds go through fabric8's typed model, which keeps unknown fields
 * in additionalProperties; any entry there is a violation. Custom resources are checked against
 * the field paths of their upstream schemas ({@link StructuralSchema}).
 */
final class StrictParser {

    private static final Map<String, Class<?>> CORE_KINDS = Map.of(
            "v1/Namespace", Namespace.class,
            "v1/ServiceAccount", ServiceAccount.class,
            "v1/ConfigMap", ConfigMap.class,
            "v1/Service", Service.class,
            "apps/v1/Deployment", Deployment.class);

    private StrictParser() {
    }

    /** Every problem found in one manifest; empty when it parses strictly. */
    static List<String> violations(Manifest manifest) {
        String type = manifest.apiVersion() + "/" + manifest.kind();
        List<String> problems = new ArrayList<>();
        Class<?> model = CORE_KINDS.get(type);
        if (model != null) {
            Object typed;
            try {
                typed = Yaml.MAPPER.convertValue(manifest.body(), model);
            } catch (IllegalArgumentException e) {
                problems.add(manifest.describe() + ": does not parse as " + type + ": " + e.getMessage());
                return problems;
            }
            collectUnknown(typed, "", manifest, problems);
            return problems;
        }
        StructuralSchema schema = StructuralSchema.forType(type);
        if (schema == null) {
            problems.add(manifest.describe() + ": no strict schema for " + type
                    + "; add the kind to StrictParser or StructuralSchema");
            return problems;
        }
        for (String path : schema.unknownPaths(manifest.body())) {
            problems.add(manifest.describe() + ": unknown field " + path + " for " + type);
        }
        return problems;
    }

    private static void collectUnknown(Object node, String path, Manifest manifest, List<String> problems) {
        if (node == null) {
            return;
        }
        if (node instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                collectUnknown(list.get(i), path + "[" + i + "]", manifest, problems);
            }
            return;
        }
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                collectUnknown(e.getValue(), path + "." + e.getKey(), manifest, problems);
            }
            return;
        }
        if (!node.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method getter : node.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = getter.invoke(node);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue;
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    problems.add(manifest.describe() + ": unknown field(s) " + extra.keySet() + " at "
                            + (path.isEmpty() ? "the top level" : path.substring(1)));
                }
                continue;
            }
            String field = Character.toLowerCase(getter.getName().charAt(3)) + getter.getName().substring(4);
            collectUnknown(value, path + "." + field, manifest, problems);
        }
    }
}
