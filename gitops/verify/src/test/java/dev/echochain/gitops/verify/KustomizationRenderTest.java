package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.emptyString;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Timeout(120)
class KustomizationRenderTest {

    static List<Path> kustomizations() {
        return Snapshot.kustomizationDirs(Snapshot.repositoryRoot());
    }

    @Test
    void findsEveryComponentKustomization() {
        assertThat("kustomizations under gitops/", kustomizations(), hasSize(greaterThanOrEqualTo(8)));
    }

    @ParameterizedTest
    @MethodSource("kustomizations")
    void everyKustomizationRenders(Path dir) {
        String rendered = Kustomize.fromPath().render(dir);

        assertThat("rendered output of " + dir, rendered.strip(), not(emptyString()));
    }

    @Test
    void missingKubectlFailsNamingWhatToInstall(@TempDir Path emptyPath) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Kustomize.fromPath(emptyPath.toString()));

        assertThat(e.getMessage(), containsString("kubectl was not found on PATH"));
        assertThat(e.getMessage(), containsString("Install it: kubectl"));
    }

    @Test
    void brokenKustomizationFailsWithKustomizeMessage(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("kustomization.yaml"), "resources:\n  - missing.yaml\n");

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Kustomize.fromPath().render(dir));

        assertThat(e.getMessage(), containsString("missing.yaml"));
    }
}
