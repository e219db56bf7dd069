package dev.echochain.gitops.verify;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Renders kustomizations with kubectl's built-in kustomize, as Argo CD would with kustomize. */
final class Kustomize {

    static final String INSTALL_HINT = "kubectl 1.27 or newer, which has kustomize built in "
            + "(https://kubernetes.io/docs/tasks/tools/); CI installs it in .ci/run";

    private final Path kubectl;

    private Kustomize(Path kubectl) {
        this.kubectl = kubectl;
    }

    /** Uses the kubectl on this process's PATH, failing with what to install when there is none. */
    static Kustomize fromPath() {
        return new Kustomize(Commands.require("kubectl", INSTALL_HINT));
    }

    /** Uses the kubectl on the given PATH value. */
    static Kustomize fromPath(String pathValue) {
        return new Kustomize(Commands.require("kubectl", pathValue, INSTALL_HINT));
    }

    Path kubectl() {
        return kubectl;
    }

    /** Renders one kustomization directory, or fails with kustomize's own message. */
    String render(Path dir) {
        Commands.Result result = Commands.run(List.of(kubectl.toString(), "kustomize", dir.toString()),
                dir, Map.of(), null, Duration.ofSeconds(60));
        if (result.exitCode() != 0) {
            throw new IllegalStateException("kubectl kustomize " + dir + " failed: " + result.stderr().strip());
        }
        return result.stdout();
    }
}
