package dev.echochain.identity;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.ConfigMappingException;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ServerRuntimeTest {

    private static final Config CONFIG = Config.just(ConfigSources.create(Map.of(
            "server.max.connections", "many",
            "server.shutdown.grace", "10 seconds")));

    @Test
    void aValueThatIsNotANumberIsReportedWithItsKeyVariableAndExpectedForm() {
        ConfigMappingException error = assertThrows(ConfigMappingException.class,
                () -> CONFIG.get("server.max.connections").asInt().get());

        assertThat(ServerRuntime.describe(error), is("server.max.connections (environment SERVER_MAX_CONNECTIONS) "
                + "is 'many', which is not a whole number"));
    }

    @Test
    void aValueThatIsNotADurationIsReportedWithItsKeyVariableAndExpectedForm() {
        ConfigMappingException error = assertThrows(ConfigMappingException.class,
                () -> CONFIG.get("server.shutdown.grace").as(Duration.class).get());

        assertThat(ServerRuntime.describe(error), is("server.shutdown.grace (environment SERVER_SHUTDOWN_GRACE) "
                + "is '10 seconds', which is not an ISO-8601 duration such as PT10S"));
    }
}
