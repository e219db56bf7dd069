package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasItem;

@Timeout(120)
class StrictParsingTest {

    @Test
    void everyManifestParsesStrictly() {
        List<String> problems = new ArrayList<>();
        for (Manifest m : Fixtures.snapshot().manifests()) {
            problems.addAll(StrictParser.violations(m));
        }

        assertThat("strict parse of every rendered manifest", problems, empty());
    }

    @Test
    void rejectsUnknownContainerFieldInDeployment() {
        Manifest deployment = find("Deployment", "echo-server");
        container(deployment).put("imagePullPolcy", "Never");

        assertThat(StrictParser.violations(deployment),
                hasItem(containsString("unknown field(s) [imagePullPolcy] at spec.template.spec.containers[0]")));
    }

    @Test
    void rejectsUnknownTopLevelFieldInService() {
        Manifest service = find("Service", "echo-gateway");
        service.body().put("specs", Map.of());

        assertThat(StrictParser.violations(service), hasItem(containsString("unknown field(s) [specs]")));
    }

    @Test
    void rejectsUnknownFieldInApplication() {
        Manifest app = find("Application", "spire");
        Yaml.map(app.body(), "spec", "syncPolicy").put("automatic", Map.of());

        assertThat(StrictParser.violations(app), hasItem(containsString("unknown field spec.syncPolicy.automatic")));
    }

    @Test
    void rejectsMisspelledSpiffeFieldInServersTransport() {
        Manifest transport = find("ServersTransport", "echo-gateway");
        Yaml.map(transport.body(), "spec", "spiffe").put("id", "spiffe://echo.local/ns/echo/sa/echo-gateway");

        assertThat(StrictParser.violations(transport), hasItem(containsString("unknown field spec.spiffe.id")));
    }

    @Test
    void rejectsKindWithoutSchema() {
        Manifest unknown = new Manifest("test", Map.of("apiVersion", "example.com/v1", "kind", "Widget",
                "metadata", Map.of("name", "w")));

        assertThat(StrictParser.violations(unknown),
                hasItem(containsString("no strict schema for example.com/v1/Widget")));
    }

    private static Manifest find(String kind, String name) {
        return Fixtures.snapshot().manifests().stream()
                .filter(m -> kind.equals(m.kind()) && name.equals(m.name()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in the rendered manifests"))
                .copy();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> container(Manifest deployment) {
        return (Map<String, Object>) Yaml.list(deployment.body(), "spec", "template", "spec", "containers").get(0);
    }
}
