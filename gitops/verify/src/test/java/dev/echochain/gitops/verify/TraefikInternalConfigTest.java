package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;

/**
 * traefik-internal's file-provider configuration and its spiffe-helper configuration, read from its
 * values file: field names as in Traefik v3.7's pkg/config/dynamic and pkg/tls, references that
 * resolve, certificate paths that the helper writes, and the caller check's regular expression.
 */
@Timeout(60)
class TraefikInternalConfigTest {

    private static final String VALUES = "gitops/infrastructure/traefik-internal/values.yaml";
    private static final String TD = "spiffe://echo.local";

    /** Field paths of Traefik v3.7's dynamic configuration that this file may use. */
    private static final StructuralSchema DYNAMIC = StructuralSchema.of(List.of(
            "http.routers.*.entryPoints[]", "http.routers.*.rule", "http.routers.*.middlewares[]",
            "http.routers.*.service", "http.routers.*.priority", "http.routers.*.tls.options",
            "http.middlewares.*.passTLSClientCert.pem", "http.middlewares.*.passTLSClientCert.info.sans",
            "http.services.*.loadBalancer.servers[].url", "http.services.*.loadBalancer.serversTransport",
            "http.services.*.loadBalancer.passHostHeader", "http.serversTransports.*.spiffe.ids[]",
            "http.serversTransports.*.spiffe.trustDomain", "tls.stores.*.defaultCertificate.certFile",
            "tls.stores.*.defaultCertificate.keyFile", "tls.options.*.minVersion",
            "tls.options.*.clientAuth.caFiles[]", "tls.options.*.clientAuth.clientAuthType"),
            List.of());

    @Test
    void dynamicConfigUsesOnlyTraefikFieldNames() {
        assertThat(DYNAMIC.unknownPaths(dynamic()), empty());
    }

    @Test
    void schemaReportsMisspelledField() {
        Map<String, Object> broken = dynamic();
        Yaml.map(broken, "tls", "options", "default", "clientAuth").put("caFile", List.of("x"));

        assertThat(DYNAMIC.unknownPaths(broken), hasItem("tls.options.default.clientAuth.caFile"));
    }

    @Test
    void everyReferenceResolves() {
        Map<String, Object> config = dynamic();
        Set<String> entryPoints = entryPoints();
        List<String> problems = new ArrayList<>();
        Yaml.map(config, "http", "routers").forEach((name, router) -> {
            for (Object ep : Yaml.list(router, "entryPoints")) {
                if (!entryPoints.contains(String.valueOf(ep))) {
                    problems.add("router " + name + ": no entrypoint " + ep);
                }
            }
            for (Object mw : Yaml.list(router, "middlewares")) {
                if (!Yaml.map(config, "http", "middlewares").containsKey(String.valueOf(mw))) {
                    problems.add("router " + name + ": no middleware " + mw);
                }
            }
            if (!Yaml.map(config, "http", "services").containsKey(Yaml.string(router, "service"))) {
                problems.add("router " + name + ": no service " + Yaml.string(router, "service"));
            }
        });
        Yaml.map(config, "http", "services").forEach((name, service) -> {
            String transport = Yaml.string(service, "loadBalancer", "serversTransport");
            if (transport != null && !Yaml.map(config, "http", "serversTransports").containsKey(transport)) {
                problems.add("service " + name + ": no serversTransport " + transport);
            }
        });

        assertThat(problems, empty());
    }

    @Test
    void tlsFilesAreTheOnesTheHelperWrites() {
        Map<String, String> helper = helperConf();
        String dir = helper.get("cert_dir");
        Map<String, Object> config = dynamic();

        assertThat(Yaml.string(config, "tls", "stores", "default", "defaultCertificate", "certFile"),
                equalTo(dir + "/" + helper.get("svid_file_name")));
        assertThat(Yaml.string(config, "tls", "stores", "default", "defaultCertificate", "keyFile"),
                equalTo(dir + "/" + helper.get("svid_key_file_name")));
        assertThat(Yaml.list(config, "tls", "options", "default", "clientAuth", "caFiles"),
                equalTo(List.of(dir + "/" + helper.get("svid_bundle_file_name"))));
        assertThat(Yaml.string(config, "tls", "options", "default", "clientAuth", "clientAuthType"),
                equalTo("RequireAndVerifyClientCert"));
        assertThat("the file provider watches the directory the helper writes to",
                arguments(), hasItem("--providers.file.directory=" + dir));
    }

    @Test
    void helperReachesTheAgentSocketThatTheCsiVolumeMounts() {
        // spiffe-helper 0.11.0 prepends unix:// itself, so agent_address is a plain absolute path
        assertThat(helperConf().get("agent_address"), equalTo("/spiffe-workload-api/spire-agent.sock"));
    }

    @Test
    void callerCheckAdmitsOnlyTraefikExternal() {
        Pattern check = callerCheck();

        assertThat(matches(check, header(TD + "/ns/traefik/sa/traefik-external")), equalTo(true));
        assertThat(matches(check, header(TD + "/ns/traefik/sa/traefik-external") + "%2C"
                + URLEncoder.encode("SAN=\"" + TD + "\"", StandardCharsets.UTF_8)), equalTo(true));
        assertThat(matches(check, header(TD + "/ns/traefik/sa/traefik-internal")), equalTo(false));
        assertThat(matches(check, header(TD + "/ns/echo/sa/echo-server")), equalTo(false));
        assertThat(matches(check, header(TD + "/ns/traefik/sa/traefik-external-2")), equalTo(false));
        assertThat(matches(check, header("spiffe://other.example/ns/traefik/sa/traefik-external")),
                equalTo(false));
        assertThat(matches(check, URLEncoder.encode(
                "SAN=\"x.example," + TD + "/ns/traefik/sa/traefik-external\"", StandardCharsets.UTF_8)),
                equalTo(false));
    }

    @Test
    void callerCheckEntrypointListensOnLoopbackOnlyAndTrustsOnlyIt() {
        assertThat(arguments(), hasItems(
                "--entryPoints.callercheck.address=127.0.0.1:8100",
                "--entryPoints.callercheck.forwardedHeaders.trustedIPs=127.0.0.1/32"));
    }

    /** The header as Traefik's passTLSClientCert writes it with info.sans: url.QueryEscape of SAN="...". */
    private static String header(String id) {
        return URLEncoder.encode("SAN=\"" + id + "\"", StandardCharsets.UTF_8);
    }

    private static boolean matches(Pattern pattern, String value) {
        return pattern.matcher(value).find();
    }

    private static Pattern callerCheck() {
        String rule = Yaml.string(dynamic(), "http", "routers", "echo-internal-authorized", "rule");
        Matcher m = Pattern.compile("HeaderRegexp\\(`X-Forwarded-Tls-Client-Cert-Info`,\\s*`([^`]+)`\\)")
                .matcher(rule);
        assertThat("the authorized router has a HeaderRegexp on the client certificate header: " + rule,
                m.find(), equalTo(true));
        return Pattern.compile(m.group(1));
    }

    private static Set<String> entryPoints() {
        Set<String> names = new TreeSet<>(Yaml.map(values(), "ports").keySet());
        names.addAll(Set.of("web", "websecure", "traefik", "metrics"));
        for (Object arg : Yaml.list(values(), "additionalArguments")) {
            Matcher m = Pattern.compile("^--entryPoints\\.([^.]+)\\.address=").matcher(String.valueOf(arg));
            if (m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    private static List<String> arguments() {
        return Yaml.list(values(), "additionalArguments").stream().map(String::valueOf).toList();
    }

    private static Map<String, Object> values() {
        return Fixtures.snapshot().values().get(VALUES);
    }

    private static Map<String, Object> configMapData() {
        return Yaml.map(Yaml.list(values(), "extraObjects").get(0), "data");
    }

    private static Map<String, Object> dynamic() {
        return Yaml.readText(String.valueOf(configMapData().get("dynamic.yaml")), "dynamic.yaml");
    }

    /** The flat key = "value" lines of helper.conf (HCL); nested blocks are skipped. */
    private static Map<String, String> helperConf() {
        Map<String, String> settings = new LinkedHashMap<>();
        Pattern line = Pattern.compile("^([a-z_]+)\\s*=\\s*\"([^\"]*)\"\\s*$");
        for (String text : String.valueOf(configMapData().get("helper.conf")).split("\n")) {
            Matcher m = line.matcher(text);
            if (m.find()) {
                settings.put(m.group(1), m.group(2));
            }
        }
        return settings;
    }
}
