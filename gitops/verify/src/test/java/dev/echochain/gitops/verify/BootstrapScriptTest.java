package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

@Timeout(60)
class BootstrapScriptTest {

    private static final String CONTEXT = "kubectl --context k3d-echo-chain ";

    @Test
    void dryRunPrintsTheFullSequenceAndChangesNothing(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");

        Commands.Result result = stubs.bootstrap("--dry-run", "up");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        List<String> printed = result.stdout().lines().filter(l -> l.startsWith("+ ")).toList();
        assertInOrder(printed,
                "+ k3d cluster create echo-chain --servers 1 --agents 0 --port " + port(stubs, "HTTP_PORT")
                        + ":80@loadbalancer --port " + port(stubs, "HTTPS_PORT") + ":443@loadbalancer"
                        + " --k3s-arg --disable=traefik@server:\\*",
                "+ ./mvnw -B -DskipTests install",
                "+ ./mvnw -B -pl services/echo-server\\,services/echo-gateway jib:buildTar",
                "+ k3d image import --cluster echo-chain",
                "+ " + CONTEXT + "apply --server-side --force-conflicts --field-manager=echo-chain-bootstrap -k",
                "+ " + CONTEXT + "apply --namespace argocd --server-side --force-conflicts -f"
                        + " https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/install.yaml",
                "+ " + CONTEXT + "--namespace argocd rollout status deployment/argocd-server",
                "+ git daemon --reuseaddr --detach --export-all",
                "+ kubectl kustomize " + stubs.repo() + "/gitops/clusters/k3d | sed -e",
                "+ " + CONTEXT + "--namespace argocd get applications.argoproj.io -o jsonpath=",
                "+ " + CONTEXT + "--namespace argocd get secret argocd-initial-admin-secret",
                "+ curl",
                "+ curl",
                "+ curl",
                "+ curl");
        // assert that nothing with an effect ran: the stubs saw only read-only queries
        assertThat(stubs.log(), everyItem(not(matchesPattern(
                "^(k3d cluster create|k3d image import|git daemon|curl|kubectl .*apply|mvnw).*"))));
    }

    @Test
    void upRunsEveryStepInOrderWithTimestampedProgress(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "my-clone");

        Commands.Result result = stubs.bootstrap("up");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        String root = stubs.repo().toString();
        assertInOrder(stubs.log(),
                "docker info",
                "k3d cluster get echo-chain",
                "k3d cluster create echo-chain --servers 1 --agents 0",
                "mvnw -B -DskipTests install",
                "mvnw -B -pl services/echo-server,services/echo-gateway jib:buildTar",
                "k3d image import --cluster echo-chain " + root + "/services/echo-server/target/jib-image.tar "
                        + root + "/services/echo-gateway/target/jib-image.tar",
                CONTEXT + "apply --server-side --force-conflicts --field-manager=echo-chain-bootstrap -k "
                        + root + "/gitops/argocd",
                CONTEXT + "apply --namespace argocd --server-side --force-conflicts -f https://",
                CONTEXT + "--namespace argocd rollout status deployment/argocd-server --timeout=300s",
                CONTEXT + "--namespace argocd rollout status deployment/argocd-repo-server --timeout=300s",
                CONTEXT + "--namespace argocd rollout status statefulset/argocd-application-controller",
                "git daemon --reuseaddr --detach --export-all --port=" + port(stubs, "GIT_DAEMON_PORT"),
                CONTEXT + "apply -f -",
                CONTEXT + "--namespace argocd get applications.argoproj.io",
                CONTEXT + "--namespace argocd get secret argocd-initial-admin-secret",
                "curl ",
                "curl ",
                "curl ",
                "curl ");
        // the pipeline's two ends start together, so only their presence is checked, not their order
        assertThat(stubs.log(), hasItem("kubectl kustomize " + root + "/gitops/clusters/k3d"));
        assertThat(stubs.appliedManifest(), containsString("repoURL: git://host.k3d.internal/my-clone"));
        assertThat(stubs.appliedManifest(), containsString("automatedSync: true"));
        assertThat(result.stderr(), containsString("Argo CD login: admin / s3cret"));
        assertThat(result.stderr(), containsString("both flows answer with the expected identity chains"));
        assertThat(result.stderr().lines().filter(l -> l.contains(" == ")).toList(),
                everyItem(matchesPattern("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ == .*")));
    }

    @Test
    void rerunRepairsAnExistingClusterInsteadOfFailing(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.clusterExists();

        Commands.Result result = stubs.bootstrap("up");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertInOrder(stubs.log(), "k3d cluster start echo-chain",
                "k3d kubeconfig merge echo-chain --kubeconfig-merge-default --kubeconfig-switch-context=false",
                "mvnw -B -DskipTests install");
        assertThat(stubs.log(), not(hasItem(startsWith("k3d cluster create"))));
    }

    @Test
    void manualSyncDisablesAutomationAndSkipsTheWait(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");

        Commands.Result result = stubs.bootstrap("--manual-sync", "up");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertThat(stubs.appliedManifest(), containsString("automatedSync: false"));
        assertThat(stubs.appliedManifest(), containsString("enabled: false"));
        assertThat(stubs.log(), not(hasItem(startsWith("curl"))));
    }

    @Test
    void gitopsRepoOverrideReplacesTheGitDaemon(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.env().put("GITOPS_REPO", "https://example.com/team/echo-chain.git");
        stubs.env().put("GITOPS_REVISION", "v0.1.0");

        Commands.Result result = stubs.bootstrap("up");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertThat(stubs.log(), not(hasItem(startsWith("git daemon"))));
        assertThat(stubs.appliedManifest(), containsString("repoURL: https://example.com/team/echo-chain.git"));
        assertThat(stubs.appliedManifest(), containsString("targetRevision: v0.1.0"));
        assertThat(stubs.appliedManifest(), not(containsString("host.k3d.internal")));
    }

    @Test
    void namesEveryMissingPrerequisite(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.uninstall("k3d");
        stubs.uninstall("javac");

        Commands.Result result = stubs.bootstrap("up");

        assertThat(result.exitCode(), equalTo(1));
        assertThat(result.stderr(), containsString("missing prerequisite k3d: install k3d 5.9 or newer"));
        assertThat(result.stderr(), containsString("missing prerequisite javac: install a JDK 25"));
        assertThat(result.stderr(), containsString("ERROR in step 'check prerequisites'"));
        assertThat(stubs.log(), not(hasItem(startsWith("docker"))));
    }

    @Test
    void namesTheStuckApplicationAndWhy(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.env().put("WAIT_TIMEOUT", "0");
        stubs.applicationStates("echo-chain Synced Progressing\ncrds Synced Healthy\nspire OutOfSync Degraded\n");

        Commands.Result result = stubs.bootstrap("up");

        assertThat(result.exitCode(), equalTo(1));
        assertThat(result.stderr(), containsString("waiting for echo-chain (sync Synced, health Progressing)"));
        assertThat(result.stderr(), containsString("condition ComparisonError: stub cause"));
        assertThat(result.stderr(), containsString("stuck at echo-chain"));
        assertThat(result.stderr(), containsString("what to do:"));
    }

    @Test
    void failsWhenAFlowReturnsTheWrongIdentityChain(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.env().put("CURL_CALLER", "echo-server");

        Commands.Result result = stubs.bootstrap("up");

        assertThat(result.exitCode(), equalTo(1));
        assertThat(result.stderr(), containsString("did not return the expected identity chain"));
        assertThat(result.stderr(), containsString("ERROR in step 'check both flows'"));
    }

    @Test
    void reportsATakenHostPort(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            stubs.env().put("HTTP_PORT", String.valueOf(taken.getLocalPort()));

            Commands.Result result = stubs.bootstrap("up");

            assertThat(result.exitCode(), equalTo(1));
            assertThat(result.stderr(), containsString("host port " + taken.getLocalPort() + " is taken"));
        }
        assertThat(stubs.log(), not(hasItem(startsWith("k3d cluster create"))));
    }

    @Test
    void downDeletesTheCluster(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.clusterExists();

        Commands.Result result = stubs.bootstrap("down");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertThat(stubs.log(), hasItem("k3d cluster delete echo-chain"));
    }

    @Test
    void statusShowsTheApplicationsAndUnhealthyPods(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        stubs.clusterExists();

        Commands.Result result = stubs.bootstrap("status");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertInOrder(stubs.log(),
                CONTEXT + "--namespace argocd get applications.argoproj.io -o custom-columns=NAME:.metadata.name,",
                CONTEXT + "get pods --all-namespaces --field-selector=status.phase!=Running");
        assertThat(result.stdout(), containsString("spire Synced Healthy"));
    }

    @Test
    void statusWithoutAClusterSaysHowToCreateIt(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");

        Commands.Result result = stubs.bootstrap("status");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertThat(result.stderr(), containsString("no cluster echo-chain; run ./bootstrap.sh up"));
        assertThat(stubs.log(), not(hasItem(startsWith("kubectl"))));
    }

    @Test
    void localHandsOverToTheLocalScript(@TempDir Path dir) throws IOException {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");
        Path script = Files.createDirectories(stubs.repo().resolve("scripts")).resolve("local.sh");
        Files.writeString(script, "#!/usr/bin/env bash\necho \"local.sh got: $*\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));

        Commands.Result result = stubs.bootstrap("local", "--jars", "a b");

        assertThat(result.both(), result.exitCode(), equalTo(0));
        assertThat(result.stdout().strip(), equalTo("local.sh got: --jars a b"));
    }

    @Test
    void rejectsAnUnknownArgument(@TempDir Path dir) {
        StubCommands stubs = StubCommands.create(dir, "echo-chain");

        Commands.Result result = stubs.bootstrap("upp");

        assertThat(result.exitCode(), equalTo(1));
        assertThat(result.stderr(), containsString("unknown argument 'upp'"));
    }

    private static String port(StubCommands stubs, String name) {
        return stubs.env().get(name);
    }

    /** Asserts that each expected prefix starts a line, in this order, each after the previous one. */
    private static void assertInOrder(List<String> lines, String... expectedPrefixes) {
        int from = 0;
        for (String expected : expectedPrefixes) {
            int found = -1;
            for (int i = from; i < lines.size(); i++) {
                if (lines.get(i).startsWith(expected)) {
                    found = i;
                    break;
                }
            }
            assertThat("'" + expected + "' after line " + from + " in:\n" + String.join("\n", lines),
                    found >= 0, equalTo(true));
            from = found + 1;
        }
    }
}
