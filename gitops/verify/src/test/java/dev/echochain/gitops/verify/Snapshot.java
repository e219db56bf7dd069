package dev.echochain.gitops.verify;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * What the policy checks look at: every rendered manifest, every chart values file and bootstrap.sh.
 *
 * @param root the repository root
 * @param manifests every document of every kustomization, once each, plus the objects embedded in values files
 * @param values every values.yaml under gitops/, keyed by its path relative to the root
 * @param bootstrapScript the text of bootstrap.sh
 */
record Snapshot(Path root, List<Manifest> manifests, Map<String, Map<String, Object>> values,
                String bootstrapScript) {

    /** The repository URL the committed Applications use for this repository. */
    static final String OWN_REPO_URL = "git://host.k3d.internal/echo-chain";

    /** The repository root, from the build or the working directory. */
    static Path repositoryRoot() {
        String configured = System.getProperty("echo.chain.root");
        Path root = configured != null ? Path.of(configured) : Path.of("../..");
        return root.toAbsolutePath().normalize();
    }

    /** Every directory under gitops/ that holds a kustomization.yaml, in a stable order. */
    static List<Path> kustomizationDirs(Path root) {
        try (Stream<Path> files = Files.walk(root.resolve("gitops"))) {
            return files.filter(p -> p.getFileName().toString().equals("kustomization.yaml"))
                    .filter(p -> !p.toString().contains("/target/") && !p.toString().contains("/verify/"))
                    .map(Path::getParent)
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The kustomizations that no other kustomization includes; their output covers all the others. */
    static List<Path> topLevelKustomizations(Path root) {
        List<Path> all = kustomizationDirs(root);
        Set<Path> included = new HashSet<>();
        for (Path dir : all) {
            for (Object resource : Yaml.list(Yaml.readFile(dir.resolve("kustomization.yaml")), "resources")) {
                included.add(dir.resolve(String.valueOf(resource)).normalize());
            }
        }
        return all.stream().filter(dir -> !included.contains(dir.normalize())).toList();
    }

    /** Renders every top-level kustomization and reads every values file of the repository. */
    static Snapshot load(Path root, Kustomize kustomize) {
        Map<String, Manifest> unique = new LinkedHashMap<>();
        for (Path dir : topLevelKustomizations(root)) {
            String origin = root.relativize(dir).toString();
            for (Manifest m : Yaml.readAll(kustomize.render(dir), origin)) {
                unique.putIfAbsent(m.apiVersion() + "/" + m.kind() + "/" + m.namespace() + "/" + m.name(), m);
            }
        }
        Map<String, Map<String, Object>> values = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(root.resolve("gitops"))) {
            files.filter(p -> p.getFileName().toString().equals("values.yaml"))
                    .filter(p -> !p.toString().contains("/target/"))
                    .sorted()
                    .forEach(p -> values.put(root.relativize(p).toString(), Yaml.readFile(p)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Manifest> manifests = new ArrayList<>(unique.values());
        values.forEach((file, body) -> {
            for (Object extra : Yaml.list(body, "extraObjects")) {
                manifests.add(new Manifest(file + " extraObjects", Yaml.map(extra)));
            }
        });
        try {
            return new Snapshot(root, List.copyOf(manifests), values,
                    Files.readString(root.resolve("bootstrap.sh")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<Manifest> applications() {
        return Manifest.ofKind(manifests, "argoproj.io/", "Application");
    }

    /** The trust domain named in the SPIRE values file. */
    String trustDomain() {
        return Yaml.string(values.get("gitops/infrastructure/spire/values.yaml"), "global", "spire", "trustDomain");
    }

    /** A copy in which one manifest is changed; for negative tests. */
    Snapshot withManifest(String kind, String name, UnaryOperator<Map<String, Object>> change) {
        List<Manifest> changed = new ArrayList<>();
        boolean found = false;
        for (Manifest m : manifests) {
            if (kind.equals(m.kind()) && name.equals(m.name())) {
                changed.add(new Manifest(m.origin(), change.apply(m.copy().body())));
                found = true;
            } else {
                changed.add(m);
            }
        }
        if (!found) {
            throw new IllegalArgumentException("No " + kind + " named " + name + " to change");
        }
        return new Snapshot(root, List.copyOf(changed), values, bootstrapScript);
    }

    /** A copy with one more manifest; for negative tests. */
    Snapshot plus(Manifest extra) {
        List<Manifest> more = new ArrayList<>(manifests);
        more.add(extra);
        return new Snapshot(root, List.copyOf(more), values, bootstrapScript);
    }

    /** A copy in which one values file is changed; for negative tests. */
    Snapshot withValues(String file, UnaryOperator<Map<String, Object>> change) {
        Map<String, Map<String, Object>> changed = new LinkedHashMap<>(values);
        Map<String, Object> original = values.get(file);
        if (original == null) {
            throw new IllegalArgumentException("No values file " + file);
        }
        changed.put(file, change.apply(Yaml.deepCopy(original)));
        return new Snapshot(root, manifests, changed, bootstrapScript);
    }

    /** A copy with another bootstrap.sh text; for negative tests. */
    Snapshot withBootstrapScript(String text) {
        return new Snapshot(root, manifests, values, text);
    }
}
