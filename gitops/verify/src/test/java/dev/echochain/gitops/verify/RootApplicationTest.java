package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;

@Timeout(60)
class RootApplicationTest {

    private static final String FORK = "https://example.com/team/echo-chain.git";

    @Test
    void everySourceOfThisRepositoryIsRewritable() {
        assertThat(Policies.ownSourcesAreRewritable(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsAnUnlabelledApplication() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "routes", app -> {
            Yaml.map(app, "metadata", "labels").remove("echo-chain.dev/gitops-source");
            return app;
        });

        assertThat(Policies.ownSourcesAreRewritable(broken), hasItem(containsString("Application argocd/routes")));
    }

    /**
     * Does what Argo CD does with the root Application: adds its kustomize patches to the apps
     * kustomization and builds it. The override must reach every child.
     */
    @Test
    void rootPatchHandsRepositoryAndSyncModeToEveryChild(@TempDir Path dir) throws IOException {
        Path apps = Snapshot.repositoryRoot().resolve("gitops/clusters/k3d/apps");
        try (Stream<Path> files = Files.list(apps)) {
            for (Path file : files.toList()) {
                Files.copy(file, dir.resolve(file.getFileName()));
            }
        }
        Manifest root = Fixtures.snapshot().applications().stream()
                .filter(a -> "echo-chain".equals(a.name()))
                .findFirst()
                .orElseThrow()
                .copy();
        List<?> patches = Yaml.list(root.body(), "spec", "source", "kustomize", "patches");
        Map<String, Object> patch = Yaml.map(patches.get(0));
        patch.put("patch", patch.get("patch").toString()
                .replace(Snapshot.OWN_REPO_URL, FORK)
                .replace("targetRevision: HEAD", "targetRevision: v0.1.0")
                .replace("automatedSync: true", "automatedSync: false"));
        Map<String, Object> kustomization = Yaml.readFile(dir.resolve("kustomization.yaml"));
        kustomization.put("patches", patches);
        Files.writeString(dir.resolve("kustomization.yaml"), Yaml.MAPPER.writeValueAsString(kustomization));

        List<Manifest> children = Yaml.readAll(Kustomize.fromPath().render(dir), "patched apps");

        assertThat(children, hasSize(6));
        for (Manifest child : children) {
            assertThat(child.name() + " syncs by itself",
                    Yaml.at(child.body(), "spec", "syncPolicy", "automated", "enabled"), equalTo(false));
            for (Map<String, Object> source : Policies.sources(child)) {
                if ("gitops".equals(Yaml.string(source, "name"))) {
                    assertThat(child.name() + " repository", Yaml.string(source, "repoURL"), equalTo(FORK));
                    assertThat(child.name() + " revision", Yaml.string(source, "targetRevision"), equalTo("v0.1.0"));
                }
            }
        }
    }
}
