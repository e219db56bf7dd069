package dev.echochain.gitops.verify;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** YAML reading and small navigation helpers over the generic map form. */
final class Yaml {

    static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory());

    private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() { };

    private Yaml() {
    }

    /** Reads every non-empty document of a multi-document YAML text. */
    static List<Manifest> readAll(String text, String origin) {
        List<Manifest> documents = new ArrayList<>();
        try (MappingIterator<Map<String, Object>> it = MAPPER.readerFor(MAP).readValues(text)) {
            while (it.hasNextValue()) {
                Map<String, Object> doc = it.nextValue();
                if (doc != null && !doc.isEmpty()) {
                    documents.add(new Manifest(origin, doc));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to parse YAML from " + origin + ": " + e.getMessage(), e);
        }
        return documents;
    }

    /** Reads a single-document YAML file. */
    static Map<String, Object> readFile(Path file) {
        try {
            return MAPPER.readValue(Files.readString(file), MAP);
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to read YAML file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a single YAML document from text. */
    static Map<String, Object> readText(String text, String origin) {
        try {
            return MAPPER.readValue(text, MAP);
        } catch (IOException e) {
            throw new UncheckedIOException("Failed to parse YAML from " + origin + ": " + e.getMessage(), e);
        }
    }

    /** Follows keys through nested maps; null when any step is missing. */
    static Object at(Object node, String... keys) {
        Object current = node;
        for (String key : keys) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = map.get(key);
        }
        return current;
    }

    static String string(Object node, String... keys) {
        Object value = at(node, keys);
        return value == null ? null : value.toString();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object node, String... keys) {
        Object value = at(node, keys);
        return value instanceof Map<?, ?> ? (Map<String, Object>) value : Map.of();
    }

    static List<?> list(Object node, String... keys) {
        Object value = at(node, keys);
        return value instanceof List<?> l ? l : List.of();
    }

    static Map<String, Object> deepCopy(Map<String, Object> body) {
        return MAPPER.convertValue(body, MAP);
    }

    /**
     * Calls the visitor for every map entry in the tree, depth first; a list item is visited with the
     * key of its list.
     */
    static void walk(Object node, EntryVisitor visitor) {
        walk(node, "", visitor);
    }

    private static void walk(Object node, String key, EntryVisitor visitor) {
        if (node instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                String child = String.valueOf(e.getKey());
                visitor.visit(child, e.getValue());
                walk(e.getValue(), child, visitor);
            }
        } else if (node instanceof List<?> list) {
            for (Object item : list) {
                if (!(item instanceof Map<?, ?>) && !(item instanceof List<?>)) {
                    visitor.visit(key, item);
                }
                walk(item, key, visitor);
            }
        }
    }

    /** Receives one key and its value. */
    @FunctionalInterface
    interface EntryVisitor {
        void visit(String key, Object value);
    }
}
