package dev.echochain.gitops.verify;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A sandbox for running bootstrap.sh: stub docker, k3d, kubectl, git, curl, java and javac that
 * log their argv, a PATH that holds only those stubs and the few real utilities the script uses,
 * and a copy of the repository parts the script reads.
 */
final class StubCommands {

    /** Real utilities that bootstrap.sh calls besides the tools it checks for. */
    private static final List<String> UTILITIES = List.of(
            "bash", "env", "sed", "awk", "date", "basename", "dirname", "cat", "tr", "seq", "base64", "sleep",
            "rm", "head");

    private static final String LOG = """
            #!/usr/bin/env bash
            { printf '%s' "$(basename "$0")"; printf ' %s' "$@"; printf '\\n'; } >> "$STUB_LOG"
            """;

    private final Path dir;
    private final Path bin;
    private final Path repo;
    private final Map<String, String> env = new HashMap<>();

    private StubCommands(Path dir, Path repo) {
        this.dir = dir;
        this.bin = dir.resolve("bin");
        this.repo = repo;
    }

    /** Creates stubs and a repository copy named {@code repoName} under {@code dir}. */
    static StubCommands create(Path dir, String repoName) {
        try {
            Path repo = dir.resolve(repoName);
            StubCommands stubs = new StubCommands(dir, repo);
            stubs.writeStubs();
            stubs.linkUtilities();
            stubs.copyRepository();
            stubs.env.put("PATH", stubs.bin + ":" + dir.resolve("tools"));
            stubs.env.put("STUB_LOG", dir.resolve("stub.log").toString());
            stubs.env.put("STUB_DIR", dir.toString());
            stubs.env.put("REAL_KUBECTL", Kustomize.fromPath().kubectl().toString());
            stubs.env.put("XDG_RUNTIME_DIR", dir.toString());
            stubs.env.put("HTTP_PORT", String.valueOf(freePort()));
            stubs.env.put("HTTPS_PORT", String.valueOf(freePort()));
            stubs.env.put("GIT_DAEMON_PORT", String.valueOf(freePort()));
            stubs.env.put("WAIT_TIMEOUT", "30");
            Files.writeString(dir.resolve("stub.log"), "");
            return stubs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path repo() {
        return repo;
    }

    Map<String, String> env() {
        return env;
    }

    /** Removes a stub, as if the tool were not installed. */
    void uninstall(String tool) throws IOException {
        Files.delete(bin.resolve(tool));
    }

    /** Makes the k3d stub report that the cluster exists. */
    void clusterExists() throws IOException {
        Files.writeString(dir.resolve("cluster-exists"), "");
    }

    /** Lines that the kubectl stub prints for the Applications' sync and health. */
    void applicationStates(String lines) throws IOException {
        Files.writeString(dir.resolve("app-states"), lines);
    }

    /** Runs bootstrap.sh from the repository copy with the given arguments. */
    Commands.Result bootstrap(String... args) {
        List<String> command = new ArrayList<>();
        command.add(repo.resolve("bootstrap.sh").toString());
        command.addAll(List.of(args));
        return Commands.run(command, repo, env, null, Duration.ofSeconds(60));
    }

    /** Every stub invocation so far, one line each: the command name and its arguments. */
    List<String> log() throws IOException {
        return Files.readAllLines(dir.resolve("stub.log"));
    }

    /** The manifest that bootstrap.sh piped into {@code kubectl apply -f -}. */
    String appliedManifest() throws IOException {
        Path applied = dir.resolve("applied.yaml");
        return Files.exists(applied) ? Files.readString(applied) : "";
    }

    private void writeStubs() throws IOException {
        Files.createDirectories(bin);
        stub("docker", "exit 0\n");
        stub("java", "echo 'openjdk version \"25.0.1\"' >&2\n");
        stub("javac", "echo 'javac 25.0.1' >&2\n");
        stub("k3d", """
                if [[ "$1 $2" == "cluster get" ]]; then
                  [[ -f "$STUB_DIR/cluster-exists" ]] && exit 0
                  exit 1
                fi
                """);
        stub("git", """
                if [[ " $* " == *" status "* ]]; then exit 0; fi
                """);
        stub("kubectl", """
                case " $* " in
                  *" kustomize "*) exec "$REAL_KUBECTL" kustomize "${@: -1}" ;;
                  *" apply -f - "*) cat > "$STUB_DIR/applied.yaml" ;;
                  *"conditions"*) printf '  condition ComparisonError: stub cause\\n' ;;
                  *" get applications.argoproj.io "*)
                    if [[ -f "$STUB_DIR/app-states" ]]; then cat "$STUB_DIR/app-states"; else
                      for a in echo-chain crds spire traefik-external traefik-internal echo routes; do
                        printf '%s Synced Healthy\\n' "$a"
                      done
                    fi ;;
                  *" argocd-initial-admin-secret "*) printf 'czNjcmV0' ;;
                esac
                """);
        stub("curl", """
                url="${@: -1}"
                caller=traefik-external
                if [[ "$url" == *echo-internal.localhost* ]]; then caller=traefik-internal; fi
                caller="${CURL_CALLER:-$caller}"
                td=spiffe://echo.local
                fmt='{"message":"hello","server":{"id":"%s","caller":"%s"},'
                fmt+='"gateway":{"id":"%s","caller":"%s"}}\\n'
                printf "$fmt" \\
                  "$td/ns/echo/sa/echo-server" "$td/ns/echo/sa/echo-gateway" \\
                  "$td/ns/echo/sa/echo-gateway" "$td/ns/traefik/sa/$caller"
                """);
    }

    private void stub(String name, String body) throws IOException {
        Path file = bin.resolve(name);
        Files.writeString(file, LOG + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private void linkUtilities() throws IOException {
        Path tools = Files.createDirectories(dir.resolve("tools"));
        String systemPath = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String utility : UTILITIES) {
            Path real = Commands.require(utility, systemPath, "coreutils / " + utility);
            Files.createSymbolicLink(tools.resolve(utility), real);
        }
    }

    private void copyRepository() throws IOException {
        Path root = Snapshot.repositoryRoot();
        Files.createDirectories(repo.resolve("gitops/clusters/k3d/apps"));
        Files.copy(root.resolve("bootstrap.sh"), repo.resolve("bootstrap.sh"));
        for (String file : List.of("kustomization.yaml", "echo-chain-application.yaml")) {
            Files.copy(root.resolve("gitops/clusters/k3d").resolve(file),
                    repo.resolve("gitops/clusters/k3d").resolve(file));
        }
        Path spireValues = Path.of("gitops/infrastructure/spire/values.yaml");
        Files.createDirectories(repo.resolve(spireValues).getParent());
        Files.copy(root.resolve(spireValues), repo.resolve(spireValues));
        Path mvnw = repo.resolve("mvnw");
        Files.writeString(mvnw, LOG.replace("$(basename \"$0\")", "mvnw") + """
                if [[ " $* " == *" jib:buildTar "* ]]; then
                  for svc in echo-server echo-gateway; do
                    mkdir -p "services/$svc/target" && : > "services/$svc/target/jib-image.tar"
                  done
                fi
                """);
        Files.setPosixFilePermissions(mvnw, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createSymbolicLink(dir.resolve("tools/mkdir"),
                Commands.require("mkdir", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"), "coreutils"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
