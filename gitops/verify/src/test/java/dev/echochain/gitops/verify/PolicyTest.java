package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

@Timeout(120)
class PolicyTest {

    private static final String TD = "spiffe://echo.local";
    private static final String INTERNAL_VALUES = "gitops/infrastructure/traefik-internal/values.yaml";
    private static final String EXTERNAL_VALUES = "gitops/infrastructure/traefik-external/values.yaml";

    @Test
    void applicationPathsAndValueFilesExist() {
        assertThat(Policies.applicationSourcesExist(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsApplicationPathThatDoesNotExist() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "echo",
                app -> edit(app, () -> gitopsSource(app).put("path", "gitops/apps/ehco")));

        assertThat(Policies.applicationSourcesExist(broken),
                hasItem(containsString("path gitops/apps/ehco does not exist")));
    }

    @Test
    void reportsValueFileThatDoesNotExist() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "spire", app -> edit(app,
                () -> Yaml.map(chartSource(app), "helm").put("valueFiles", List.of("$values/gitops/spire.yaml"))));

        assertThat(Policies.applicationSourcesExist(broken),
                hasItem(containsString("value file $values/gitops/spire.yaml does not exist")));
    }

    @Test
    void everyVersionIsPinned() {
        assertThat(Policies.versionsArePinned(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsChartVersionRange() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "traefik-external",
                app -> edit(app, () -> chartSource(app).put("targetRevision", "41.*")));

        assertThat(Policies.versionsArePinned(broken), hasItem(containsString("has targetRevision '41.*'")));
    }

    @Test
    void reportsExternalGitSourceOnABranch() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "crds", app -> edit(app,
                () -> Policies.sources(app(app)).get(1).put("targetRevision", "master")));

        assertThat(Policies.versionsArePinned(broken), hasItem(containsString("has targetRevision 'master'")));
    }

    @Test
    void reportsUnpinnedArgoCd() {
        Snapshot s = Fixtures.snapshot();
        Snapshot broken = s.withBootstrapScript(
                s.bootstrapScript().replace("ARGOCD_VERSION=\"v", "ARGOCD_VERSION=\"stable-"));

        assertThat(Policies.versionsArePinned(broken), hasItem(containsString("ARGOCD_VERSION must be pinned")));
    }

    @Test
    void syncWavesFollowTheComponentOrder() {
        assertThat(Policies.syncWavesFollowOrder(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsRoutesSyncingBeforeTheTraefiks() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "routes", app -> edit(app,
                () -> Yaml.map(app, "metadata", "annotations").put("argocd.argoproj.io/sync-wave", "2")));

        assertThat(Policies.syncWavesFollowOrder(broken),
                hasItem(containsString("echo (wave 4) must sync before routes (wave 2)")));
    }

    @Test
    void reportsApplicationWithoutWave() {
        Snapshot broken = Fixtures.snapshot().withManifest("Application", "echo", app -> edit(app,
                () -> Yaml.map(app, "metadata", "annotations").remove("argocd.argoproj.io/sync-wave")));

        assertThat(Policies.syncWavesFollowOrder(broken), hasItem(containsString("has no integer")));
    }

    @Test
    void serviceAccountIdsIncludeChartReleases() {
        assertThat(Policies.serviceAccountIds(Fixtures.snapshot()), containsInAnyOrder(
                TD + "/ns/echo/sa/echo-server", TD + "/ns/echo/sa/echo-gateway",
                TD + "/ns/traefik/sa/traefik-external", TD + "/ns/traefik/sa/traefik-internal"));
    }

    @Test
    void traefikServiceAccountFollowsTheChartNaming() {
        assertThat(Policies.traefikServiceAccount("traefik-external", Map.of()), equalTo("traefik-external"));
        assertThat(Policies.traefikServiceAccount("edge", Map.of()), equalTo("edge-traefik"));
        assertThat(Policies.traefikServiceAccount("edge", Map.of("serviceAccount", Map.of("name", "x"))),
                equalTo("x"));
    }

    @Test
    void everySpiffeIdNamesAServiceAccount() {
        assertThat(Policies.spiffeIdsNameServiceAccounts(Fixtures.snapshot()), empty());
    }

    @Test
    void findsEscapedIdInTheCallerCheckRule() {
        Object dynamic = Yaml.readText(dynamicConfig(Fixtures.snapshot().values().get(INTERNAL_VALUES)), "dynamic");

        assertThat(Policies.idsIn(dynamic), hasItem(TD + "/ns/traefik/sa/traefik-external"));
    }

    @Test
    void reportsServersTransportIdOfNoServiceAccount() {
        Snapshot broken = Fixtures.snapshot().withManifest("ServersTransport", "echo-gateway", t -> edit(t,
                () -> Yaml.map(t, "spec", "spiffe").put("ids", List.of(TD + "/ns/echo/sa/echo-gateways"))));

        assertThat(Policies.spiffeIdsNameServiceAccounts(broken),
                hasItem(containsString("SPIFFE ID " + TD + "/ns/echo/sa/echo-gateways names no ServiceAccount")));
    }

    @Test
    void reportsAllowlistIdOfForeignTrustDomain() {
        Snapshot broken = Fixtures.snapshot().withManifest("ConfigMap", configMapName("echo-server-config"),
                cm -> edit(cm, () -> Yaml.map(cm, "data").put("ECHO_ALLOWED_CALLERS",
                        "spiffe://example.org/ns/echo/sa/echo-gateway")));

        assertThat(Policies.spiffeIdsNameServiceAccounts(broken),
                hasItem(containsString("spiffe://example.org/ns/echo/sa/echo-gateway names no ServiceAccount")));
    }

    @Test
    void reportsCallerCheckPinnedToUnknownId() {
        Snapshot broken = Fixtures.snapshot().withValues(INTERNAL_VALUES, v -> {
            Map<String, Object> data = Yaml.map(Yaml.list(v, "extraObjects").get(0), "data");
            data.put("dynamic.yaml",
                    data.get("dynamic.yaml").toString().replace("traefik-external%22", "traefik-extern%22"));
            return v;
        });

        assertThat(Policies.spiffeIdsNameServiceAccounts(broken),
                hasItem(containsString("SPIFFE ID " + TD + "/ns/traefik/sa/traefik-extern names no ServiceAccount")));
    }

    @Test
    void bothEndsOfEveryCallAllowExactlyTheProductsCallGraph() {
        assertThat(Policies.callGraphMatches(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsAnAllowlistThatAdmitsAnExtraCaller() {
        Snapshot broken = Fixtures.snapshot().withManifest("ConfigMap", configMapName("echo-server-config"),
                cm -> edit(cm, () -> Yaml.map(cm, "data").put("ECHO_ALLOWED_CALLERS",
                        TD + "/ns/echo/sa/echo-gateway," + TD + "/ns/traefik/sa/traefik-internal")));

        assertThat(Policies.callGraphMatches(broken), hasItem(containsString("traefik-internal -> echo-server")));
    }

    @Test
    void reportsATransportToTheWrongBackend() {
        Snapshot broken = Fixtures.snapshot().withManifest("ServersTransport", "traefik-internal", t -> edit(t,
                () -> Yaml.map(t, "spec", "spiffe").put("ids", List.of(TD + "/ns/echo/sa/echo-server"))));

        assertThat(Policies.callGraphMatches(broken), hasItem(containsString("traefik-external -> echo-server")));
    }

    @Test
    void noImageIsLatestOrUnpinned() {
        assertThat(Policies.imagesArePinned(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsLatestImageInDeployment() {
        Snapshot broken = Fixtures.snapshot().withManifest("Deployment", "echo-gateway",
                d -> edit(d, () -> firstContainer(d).put("image", "echo-chain/echo-gateway:latest")));

        assertThat(Policies.imagesArePinned(broken), hasItem(containsString("image echo-chain/echo-gateway:latest")));
    }

    @Test
    void reportsUntaggedImageInValues() {
        Snapshot broken = Fixtures.snapshot().withValues(EXTERNAL_VALUES, v -> edit(v,
                () -> Yaml.map(v, "image").remove("tag")));

        assertThat(Policies.imagesArePinned(broken), hasItem(containsString("image traefik must set an exact tag")));
    }

    @Test
    void everyWorkloadThatNeedsTheWorkloadApiMountsIt() {
        assertThat(Policies.workloadApiIsMounted(Fixtures.snapshot()), empty());
    }

    @Test
    void reportsDeploymentWithoutCsiVolume() {
        Snapshot broken = Fixtures.snapshot().withManifest("Deployment", "echo-server", d -> edit(d,
                () -> firstContainer(d).put("volumeMounts", List.of(Map.of("name", "tmp", "mountPath", "/tmp")))));

        assertThat(Policies.workloadApiIsMounted(broken), hasItem(containsString(
                "container echo-server needs the Workload API at /spiffe-workload-api/spire-agent.sock")));
    }

    @Test
    void reportsEchoImageWithoutSocketVariable() {
        Snapshot broken = Fixtures.snapshot().withManifest("Deployment", "echo-gateway",
                d -> edit(d, () -> firstContainer(d).put("env", List.of())));

        assertThat(Policies.workloadApiIsMounted(broken),
                hasItem(containsString("does not set SPIFFE_ENDPOINT_SOCKET")));
    }

    @Test
    void reportsTraefikWithoutWorkloadApiFlag() {
        Snapshot broken = Fixtures.snapshot().withValues(EXTERNAL_VALUES, v -> edit(v,
                () -> v.put("additionalArguments", List.of())));

        assertThat(Policies.workloadApiIsMounted(broken), hasItem(containsString("has no --spiffe.workloadAPIAddr")));
    }

    @Test
    void reportsSpiffeHelperWithoutCsiVolume() {
        Snapshot broken = Fixtures.snapshot().withValues(INTERNAL_VALUES, v -> {
            List<?> inits = Yaml.list(v, "deployment", "initContainers");
            for (Object c : inits) {
                if ("spiffe-helper".equals(Yaml.string(c, "name"))) {
                    Yaml.map(c).put("volumeMounts", List.of());
                }
            }
            return v;
        });

        assertThat(Policies.workloadApiIsMounted(broken),
                hasItem(containsString("container spiffe-helper needs the Workload API")));
    }

    @Test
    void trustDomainIsNamedInTheSpireValues() {
        assertThat(Fixtures.snapshot().trustDomain(), equalTo("echo.local"));
    }

    private static Map<String, Object> edit(Map<String, Object> body, Runnable change) {
        change.run();
        return body;
    }

    private static Manifest app(Map<String, Object> body) {
        return new Manifest("test", body);
    }

    private static Map<String, Object> gitopsSource(Map<String, Object> app) {
        return Policies.sources(app(app)).stream()
                .filter(s -> "gitops".equals(Yaml.string(s, "name")))
                .findFirst()
                .orElseThrow();
    }

    private static Map<String, Object> chartSource(Map<String, Object> app) {
        return Policies.sources(app(app)).stream()
                .filter(s -> Yaml.at(s, "chart") != null)
                .findFirst()
                .orElseThrow();
    }

    private static Map<String, Object> firstContainer(Map<String, Object> deployment) {
        return Yaml.map(Yaml.list(deployment, "spec", "template", "spec", "containers").get(0));
    }

    private static String configMapName(String prefix) {
        List<String> names = new ArrayList<>();
        for (Manifest m : Fixtures.snapshot().manifests()) {
            if ("ConfigMap".equals(m.kind()) && m.name().startsWith(prefix)) {
                names.add(m.name());
            }
        }
        return names.getFirst();
    }

    private static String dynamicConfig(Map<String, Object> values) {
        return Yaml.string(Yaml.list(values, "extraObjects").get(0), "data", "dynamic.yaml");
    }
}
