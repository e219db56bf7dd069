package dev.echochain.gitops.verify;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The GitOps policy checks. Each returns its violations, so a test can feed it a broken snapshot. */
final class Policies {

    /** The sync order of the issue: CRDs, SPIRE, the Traefiks, the echo workloads, the routes. */
    static final List<Set<String>> WAVE_ORDER = List.of(
            Set.of("crds"), Set.of("spire"), Set.of("traefik-external", "traefik-internal"),
            Set.of("echo"), Set.of("routes"));

    static final String CSI_DRIVER = "csi.spiffe.io";

    private static final Pattern PLAIN_ID = Pattern.compile("spiffe://[^\\s\"',;}\\])`]+");
    private static final Pattern ESCAPED_ID = Pattern.compile("spiffe%3A%2F%2F([A-Za-z0-9._~\\\\%-]+?)%22");
    private static final Pattern CHART_VERSION = Pattern.compile("\\d+\\.\\d+\\.\\d+");
    private static final Pattern GIT_PIN = Pattern.compile("v?\\d+\\.\\d+\\.\\d+|[0-9a-f]{40}");
    private static final Pattern ARGOCD_PIN =
            Pattern.compile("(?m)^readonly ARGOCD_VERSION=\"(v\\d+\\.\\d+\\.\\d+)\"$");
    private static final Pattern WORKLOAD_API_FLAG = Pattern.compile("--spiffe\\.workloadAPIAddr=unix://(/\\S+)");

    private Policies() {
    }

    /** Every path of this repository that an Application names, and every values file, exists. */
    static List<String> applicationSourcesExist(Snapshot s) {
        List<String> problems = new ArrayList<>();
        for (Manifest app : s.applications()) {
            for (Map<String, Object> source : sources(app)) {
                boolean own = Snapshot.OWN_REPO_URL.equals(Yaml.string(source, "repoURL"));
                String path = Yaml.string(source, "path");
                if (own && path != null && !Files.isDirectory(s.root().resolve(path))) {
                    problems.add(app.describe() + ": path " + path + " does not exist in this repository");
                }
                for (Object file : Yaml.list(source, "helm", "valueFiles")) {
                    String name = String.valueOf(file);
                    if (!name.startsWith("$values/")) {
                        problems.add(app.describe() + ": value file " + name
                                + " must come from this repository as $values/<path>");
                    } else if (!Files.isRegularFile(s.root().resolve(name.substring("$values/".length())))) {
                        problems.add(app.describe() + ": value file " + name + " does not exist");
                    }
                }
            }
        }
        return problems;
    }

    /**
     * Every source of a child Application that reads this repository is named {@code gitops} in an
     * Application labelled {@code echo-chain.dev/gitops-source}, so the root Application's override of
     * the repository URL and revision reaches it.
     */
    static List<String> ownSourcesAreRewritable(Snapshot s) {
        List<String> problems = new ArrayList<>();
        for (Manifest app : s.applications()) {
            if (Yaml.at(app.body(), "spec", "source") != null) {
                continue;
            }
            boolean labelled = "true".equals(Yaml.string(app.body(), "metadata", "labels",
                    "echo-chain.dev/gitops-source"));
            for (Map<String, Object> source : sources(app)) {
                if (!Snapshot.OWN_REPO_URL.equals(Yaml.string(source, "repoURL"))) {
                    continue;
                }
                if (!"gitops".equals(Yaml.string(source, "name")) || !labelled) {
                    problems.add(app.describe() + ": a source of this repository must be named gitops, in an"
                            + " Application labelled echo-chain.dev/gitops-source: \"true\"");
                }
            }
        }
        return problems;
    }

    /** Every chart, every external git source and the Argo CD manifest carry an exact version. */
    static List<String> versionsArePinned(Snapshot s) {
        List<String> problems = new ArrayList<>();
        for (Manifest app : s.applications()) {
            for (Map<String, Object> source : sources(app)) {
                String revision = Yaml.string(source, "targetRevision");
                String repo = Yaml.string(source, "repoURL");
                if (Yaml.at(source, "chart") != null) {
                    if (revision == null || !CHART_VERSION.matcher(revision).matches()) {
                        problems.add(app.describe() + ": chart " + Yaml.string(source, "chart")
                                + " has targetRevision '" + revision + "', expected an exact version such as 1.2.3");
                    }
                } else if (!Snapshot.OWN_REPO_URL.equals(repo)
                        && (revision == null || !GIT_PIN.matcher(revision).matches())) {
                    problems.add(app.describe() + ": git source " + repo + " has targetRevision '" + revision
                            + "', expected a release tag such as v1.2.3 or a full commit hash");
                }
            }
        }
        if (!ARGOCD_PIN.matcher(s.bootstrapScript()).find()) {
            problems.add("bootstrap.sh: ARGOCD_VERSION must be pinned as readonly ARGOCD_VERSION=\"vX.Y.Z\"");
        }
        return problems;
    }

    /** The child Applications sync in the order of {@link #WAVE_ORDER}. */
    static List<String> syncWavesFollowOrder(Snapshot s) {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> waves = new LinkedHashMap<>();
        for (Manifest app : s.applications()) {
            String wave = Yaml.string(app.body(), "metadata", "annotations", "argocd.argoproj.io/sync-wave");
            if ("gitops/clusters/k3d/apps".equals(Yaml.string(app.body(), "spec", "source", "path"))) {
                continue;
            }
            if (wave == null || !wave.matches("-?\\d+")) {
                problems.add(app.describe() + ": has no integer argocd.argoproj.io/sync-wave annotation");
                continue;
            }
            waves.put(app.name(), Integer.parseInt(wave));
        }
        for (int i = 0; i < WAVE_ORDER.size(); i++) {
            for (String name : WAVE_ORDER.get(i)) {
                if (!waves.containsKey(name)) {
                    problems.add("Application " + name + " is missing from the waves");
                }
            }
        }
        for (int i = 0; i + 1 < WAVE_ORDER.size(); i++) {
            for (String earlier : WAVE_ORDER.get(i)) {
                for (String later : WAVE_ORDER.get(i + 1)) {
                    Integer a = waves.get(earlier);
                    Integer b = waves.get(later);
                    if (a != null && b != null && a >= b) {
                        problems.add("Application " + earlier + " (wave " + a + ") must sync before " + later
                                + " (wave " + b + ")");
                    }
                }
            }
        }
        Set<String> known = new TreeSet<>();
        WAVE_ORDER.forEach(known::addAll);
        for (String name : waves.keySet()) {
            if (!known.contains(name)) {
                problems.add("Application " + name + " has no place in the wave order " + WAVE_ORDER);
            }
        }
        return problems;
    }

    /** The SPIFFE ID of every ServiceAccount that the manifests or a chart release create. */
    static Set<String> serviceAccountIds(Snapshot s) {
        String td = s.trustDomain();
        Set<String> ids = new TreeSet<>();
        for (Manifest sa : Manifest.ofKind(s.manifests(), "v1", "ServiceAccount")) {
            ids.add("spiffe://" + td + "/ns/" + sa.namespace() + "/sa/" + sa.name());
        }
        for (Manifest app : s.applications()) {
            for (Map<String, Object> source : sources(app)) {
                if (!"traefik".equals(Yaml.string(source, "chart"))) {
                    continue;
                }
                String release = Yaml.string(source, "helm", "releaseName");
                release = release == null ? app.name() : release;
                Map<String, Object> values = chartValues(s, source);
                String account = traefikServiceAccount(release, values);
                ids.add("spiffe://" + td + "/ns/" + Yaml.string(app.body(), "spec", "destination", "namespace")
                        + "/sa/" + account);
            }
        }
        return ids;
    }

    /**
     * The ServiceAccount name the Traefik chart gives a release: serviceAccount.name, else
     * traefik.fullname (fullnameOverride, else the release name when it contains the chart name,
     * else release-chart), as in templates/_helpers.tpl of chart 41.3.0.
     */
    static String traefikServiceAccount(String release, Map<String, Object> values) {
        String explicit = Yaml.string(values, "serviceAccount", "name");
        if (explicit != null && !explicit.isEmpty()) {
            return explicit;
        }
        String fullname = Yaml.string(values, "fullnameOverride");
        if (fullname != null && !fullname.isEmpty()) {
            return fullname;
        }
        String name = Yaml.string(values, "nameOverride");
        name = name == null || name.isEmpty() ? "traefik" : name;
        return release.contains(name) ? release : release + "-" + name;
    }

    /** Every SPIFFE ID anywhere in the manifests and values files names a known ServiceAccount. */
    static List<String> spiffeIdsNameServiceAccounts(Snapshot s) {
        Set<String> known = serviceAccountIds(s);
        List<String> problems = new ArrayList<>();
        if (s.trustDomain() == null) {
            problems.add("gitops/infrastructure/spire/values.yaml: global.spire.trustDomain is not set");
        }
        Map<String, Set<String>> found = new LinkedHashMap<>();
        for (Manifest m : s.manifests()) {
            collectIds(m.body(), m.describe(), found);
        }
        s.values().forEach((file, body) -> collectIds(body, file, found));
        if (found.isEmpty()) {
            problems.add("no SPIFFE ID found anywhere; the scan itself is broken");
        }
        found.forEach((origin, ids) -> {
            for (String id : ids) {
                if (!known.contains(id)) {
                    problems.add(origin + ": SPIFFE ID " + id + " names no ServiceAccount of the manifests or of a"
                            + " chart release; known IDs: " + known);
                }
            }
        });
        return problems;
    }

    /** The SPIFFE IDs in one tree, plain or URL-escaped (as in a Traefik header rule); templates are skipped. */
    static Set<String> idsIn(Object tree) {
        Map<String, Set<String>> found = new LinkedHashMap<>();
        collectIds(tree, "tree", found);
        return found.getOrDefault("tree", Set.of());
    }

    private static void collectIds(Object tree, String origin, Map<String, Set<String>> found) {
        List<String> texts = new ArrayList<>();
        Yaml.walk(tree, (key, value) -> {
            if (value instanceof String text) {
                texts.add(text);
            }
        });
        for (String text : texts) {
            Matcher plain = PLAIN_ID.matcher(text);
            while (plain.find()) {
                String id = plain.group();
                if (!id.contains("{{")) {
                    found.computeIfAbsent(origin, k -> new LinkedHashSet<>()).add(id);
                }
            }
            Matcher escaped = ESCAPED_ID.matcher(text);
            while (escaped.find()) {
                String rest = URLDecoder.decode(escaped.group(1).replace("\\.", "."), StandardCharsets.UTF_8);
                found.computeIfAbsent(origin, k -> new LinkedHashSet<>()).add("spiffe://" + rest);
            }
        }
    }

    /** Who may call whom, as the product defines it: caller -> callee, by ServiceAccount name. */
    static final Set<String> CALL_GRAPH = Set.of(
            "traefik-external -> echo-gateway", "traefik-external -> traefik-internal",
            "traefik-internal -> echo-gateway", "echo-gateway -> echo-server");

    /**
     * The calls that the configuration allows, seen from both ends: the caller side (Traefik
     * ServersTransports, the gateway's upstream ID) and the callee side (the services' allowlists,
     * traefik-internal's caller check). Each must be exactly {@link #CALL_GRAPH}.
     */
    static List<String> callGraphMatches(Snapshot s) {
        Set<String> callerSide = new TreeSet<>();
        Set<String> calleeSide = new TreeSet<>();
        Map<String, Manifest> transports = new LinkedHashMap<>();
        for (Manifest t : Manifest.ofKind(s.manifests(), "traefik.io/", "ServersTransport")) {
            transports.put(t.namespace() + "/" + t.name(), t);
        }
        for (Manifest route : Manifest.ofKind(s.manifests(), "traefik.io/", "IngressRoute")) {
            for (Object r : Yaml.list(route.body(), "spec", "routes")) {
                for (Object service : Yaml.list(r, "services")) {
                    String name = Yaml.string(service, "serversTransport");
                    Manifest t = transports.get(route.namespace() + "/" + name);
                    if (t != null) {
                        Yaml.list(t.body(), "spec", "spiffe", "ids")
                                .forEach(id -> callerSide.add("traefik-external -> " + account(id)));
                    }
                }
            }
        }
        s.values().forEach((file, values) -> {
            for (Object extra : Yaml.list(values, "extraObjects")) {
                String dynamic = Yaml.string(extra, "data", "dynamic.yaml");
                if (dynamic == null) {
                    continue;
                }
                Map<String, Object> config = Yaml.readText(dynamic, file + " dynamic.yaml");
                Yaml.map(config, "http", "serversTransports").values().forEach(t -> Yaml.list(t, "spiffe", "ids")
                        .forEach(id -> callerSide.add("traefik-internal -> " + account(id))));
                Yaml.map(config, "http", "routers").values().forEach(router -> {
                    Matcher escaped = ESCAPED_ID.matcher(String.valueOf(Yaml.string(router, "rule")));
                    while (escaped.find()) {
                        String id = URLDecoder.decode(escaped.group(1).replace("\\.", "."),
                                StandardCharsets.UTF_8);
                        calleeSide.add(account(id) + " -> traefik-internal");
                    }
                });
            }
        });
        for (Manifest cm : Manifest.ofKind(s.manifests(), "v1", "ConfigMap")) {
            Map<String, Object> data = Yaml.map(cm.body(), "data");
            allowed(data.get("GATEWAY_ALLOWED_CALLERS"))
                    .forEach(id -> calleeSide.add(account(id) + " -> echo-gateway"));
            allowed(data.get("ECHO_ALLOWED_CALLERS")).forEach(id -> calleeSide.add(account(id) + " -> echo-server"));
            allowed(data.get("GATEWAY_UPSTREAM_ID")).forEach(id -> callerSide.add("echo-gateway -> " + account(id)));
        }
        List<String> problems = new ArrayList<>();
        if (!callerSide.equals(CALL_GRAPH)) {
            problems.add("the callers' side (ServersTransports, upstream IDs) allows " + callerSide
                    + "; the product allows " + new TreeSet<>(CALL_GRAPH));
        }
        if (!calleeSide.equals(CALL_GRAPH)) {
            problems.add("the callees' side (allowlists, caller check) allows " + calleeSide
                    + "; the product allows " + new TreeSet<>(CALL_GRAPH));
        }
        return problems;
    }

    private static List<String> allowed(Object commaSeparated) {
        if (commaSeparated == null) {
            return List.of();
        }
        return List.of(commaSeparated.toString().split(",")).stream().map(String::strip)
                .filter(id -> !id.isEmpty()).toList();
    }

    private static String account(Object id) {
        String text = String.valueOf(id);
        return text.substring(text.lastIndexOf('/') + 1);
    }

    /** No image anywhere is unpinned or tagged latest. */
    static List<String> imagesArePinned(Snapshot s) {
        List<String> problems = new ArrayList<>();
        for (Manifest m : s.manifests()) {
            checkImages(m.body(), m.describe(), problems);
        }
        s.values().forEach((file, body) -> checkImages(body, file, problems));
        return problems;
    }

    private static void checkImages(Object tree, String origin, List<String> problems) {
        Yaml.walk(tree, (key, value) -> {
            if (!"image".equals(key)) {
                return;
            }
            if (value instanceof String ref) {
                String last = ref.substring(ref.lastIndexOf('/') + 1);
                boolean digest = ref.contains("@sha256:");
                if (!digest && (!last.contains(":") || last.endsWith(":latest"))) {
                    problems.add(origin + ": image " + ref + " must carry an exact tag (not latest) or a digest");
                }
            } else if (value instanceof Map<?, ?> image && image.containsKey("repository")) {
                Object tag = image.get("tag");
                Object digest = image.get("digest");
                if (digest == null && (tag == null || tag.toString().isBlank() || "latest".equals(tag.toString()))) {
                    problems.add(origin + ": image " + image.get("repository")
                            + " must set an exact tag (not latest) or a digest");
                }
            }
        });
    }

    /** Every container that needs the Workload API mounts the SPIFFE CSI volume where its socket is. */
    static List<String> workloadApiIsMounted(Snapshot s) {
        List<String> problems = new ArrayList<>();
        for (Manifest m : s.manifests()) {
            Map<String, Object> pod = Yaml.map(m.body(), "spec", "template", "spec");
            if (pod.isEmpty()) {
                continue;
            }
            Set<String> csiVolumes = csiVolumes(Yaml.list(pod, "volumes"));
            for (String list : List.of("containers", "initContainers")) {
                for (Object c : Yaml.list(pod, list)) {
                    checkContainer(m.describe(), Yaml.map(c), Yaml.list(c, "volumeMounts"), csiVolumes, problems);
                }
            }
        }
        s.values().forEach((file, values) -> {
            if (Yaml.at(values, "deployment") == null) {
                return;
            }
            Set<String> csiVolumes = csiVolumes(Yaml.list(values, "deployment", "additionalVolumes"));
            Map<String, Object> traefik = new LinkedHashMap<>();
            traefik.put("name", "traefik");
            traefik.put("args", Yaml.list(values, "additionalArguments"));
            if (socketOf(traefik) == null) {
                problems.add(file + ": the Traefik container has no --spiffe.workloadAPIAddr; its SPIFFE"
                        + " ServersTransports cannot work");
            }
            checkContainer(file, traefik, Yaml.list(values, "additionalVolumeMounts"), csiVolumes, problems);
            for (String list : List.of("initContainers", "additionalContainers")) {
                for (Object c : Yaml.list(values, "deployment", list)) {
                    checkContainer(file, Yaml.map(c), Yaml.list(c, "volumeMounts"), csiVolumes, problems);
                }
            }
        });
        return problems;
    }

    private static Set<String> csiVolumes(List<?> volumes) {
        Set<String> names = new TreeSet<>();
        for (Object v : volumes) {
            if (CSI_DRIVER.equals(Yaml.string(v, "csi", "driver"))) {
                names.add(Yaml.string(v, "name"));
            }
        }
        return names;
    }

    private static void checkContainer(String origin, Map<String, Object> container, List<?> mounts,
                                       Set<String> csiVolumes, List<String> problems) {
        String name = Yaml.string(container, "name");
        String image = String.valueOf(container.getOrDefault("image", ""));
        String socket = socketOf(container);
        boolean helper = image.contains("spiffe-helper");
        if (image.startsWith("echo-chain/") && socket == null) {
            problems.add(origin + ": container " + name + " runs " + image
                    + " but does not set SPIFFE_ENDPOINT_SOCKET");
            return;
        }
        if (socket == null && !helper) {
            return;
        }
        boolean mounted = false;
        for (Object mount : mounts) {
            String path = Yaml.string(mount, "mountPath");
            if (csiVolumes.contains(Yaml.string(mount, "name"))
                    && (helper || socket.startsWith(path.endsWith("/") ? path : path + "/"))) {
                mounted = true;
            }
        }
        if (!mounted) {
            problems.add(origin + ": container " + name + " needs the Workload API"
                    + (socket == null ? "" : " at " + socket) + " but mounts no " + CSI_DRIVER + " volume there");
        }
    }

    private static String socketOf(Map<String, Object> container) {
        for (Object env : Yaml.list(container, "env")) {
            if ("SPIFFE_ENDPOINT_SOCKET".equals(Yaml.string(env, "name"))) {
                String value = Yaml.string(env, "value");
                return value == null ? "" : value.replaceFirst("^unix://", "").replaceFirst("^unix:", "");
            }
        }
        for (Object arg : Yaml.list(container, "args")) {
            Matcher flag = WORKLOAD_API_FLAG.matcher(String.valueOf(arg));
            if (flag.find()) {
                return flag.group(1);
            }
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> sources(Manifest app) {
        List<Map<String, Object>> all = new ArrayList<>();
        Object single = Yaml.at(app.body(), "spec", "source");
        if (single instanceof Map<?, ?>) {
            all.add((Map<String, Object>) single);
        }
        for (Object source : Yaml.list(app.body(), "spec", "sources")) {
            all.add(Yaml.map(source));
        }
        return all;
    }

    private static Map<String, Object> chartValues(Snapshot s, Map<String, Object> source) {
        Map<String, Object> merged = new LinkedHashMap<>();
        for (Object file : Yaml.list(source, "helm", "valueFiles")) {
            String path = String.valueOf(file).replaceFirst("^\\$values/", "");
            merged.putAll(s.values().getOrDefault(path, Map.of()));
        }
        return merged;
    }
}
