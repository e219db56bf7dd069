package dev.echochain.gitops.verify;

/** The repository snapshot, rendered once per test JVM. */
final class Fixtures {

    private static Snapshot snapshot;

    private Fixtures() {
    }

    static synchronized Snapshot snapshot() {
        if (snapshot == null) {
            snapshot = Snapshot.load(Snapshot.repositoryRoot(), Kustomize.fromPath());
        }
        return snapshot;
    }
}
