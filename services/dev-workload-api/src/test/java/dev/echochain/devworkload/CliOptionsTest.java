package dev.echochain.devworkload;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The command line parser of the runnable jar, as a unit.
 */
class CliOptionsTest {

    private static final String SERVER = "spiffe://echo.local/ns/echo/sa/echo-server";
    private static final String TRAEFIK = "spiffe://echo.local/ns/traefik/sa/traefik-external";

    @Test
    @Timeout(10)
    void parsesWorkloadsSvidDirectoriesAndSettings() throws Exception {
        CliOptions options = CliOptions.parse(List.of(
                "--trust-domain", "echo.local",
                "--svid-ttl", "PT5M",
                "--rotation-fraction=0.25",
                "--workload", "/tmp/ec-t/server.sock=" + SERVER,
                "--write-svid=/tmp/ec-t/curl=" + TRAEFIK,
                "--dns-san", "localhost"));

        assertThat(options.svidTtl(), is(Duration.ofMinutes(5)));
        assertThat(options.rotationFraction(), is(0.25));
        assertThat(options.workloads(), is(List.of(new CliOptions.Target(Path.of("/tmp/ec-t/server.sock"), SERVER))));
        assertThat(options.svidDirectories(), is(List.of(new CliOptions.Target(Path.of("/tmp/ec-t/curl"), TRAEFIK))));
        assertThat(options.dnsSans(), is(List.of("localhost")));
        assertThat(options.help(), is(false));
    }

    @Test
    @Timeout(10)
    void helpNeedsNothingElse() throws Exception {
        assertThat(CliOptions.parse(List.of("--help")).help(), is(true));
        assertThat(CliOptions.usage(), allOf(containsString("--workload <socket>=<SPIFFE ID>"),
                                             containsString("--write-svid <dir>=<SPIFFE ID>"),
                                             containsString("--dns-san <host>")));
    }

    @Test
    @Timeout(10)
    void workloadWithoutSpiffeIdNamesFlagAndExpectedForm() {
        assertThat(error("--workload", "/tmp/ec-t/server.sock"),
                   allOf(startsWith("--workload expects <socket path>=<SPIFFE ID>"),
                         containsString("got \"/tmp/ec-t/server.sock\"")));
    }

    @Test
    @Timeout(10)
    void missingValueNamesFlag() {
        assertThat(error("--workload"), is("--workload needs a value: --workload <socket path>=<SPIFFE ID>"));
    }

    @Test
    @Timeout(10)
    void badDurationNamesFlagAndIsoForm() {
        assertThat(error("--svid-ttl", "1h", "--workload", "/tmp/ec-t/s.sock=" + SERVER),
                   is("--svid-ttl expects an ISO-8601 duration such as PT1H or PT5M, got \"1h\""));
    }

    @Test
    @Timeout(10)
    void rotationFractionOutsideZeroToOneIsRefused() {
        assertThat(error("--rotation-fraction", "1.5", "--workload", "/tmp/ec-t/s.sock=" + SERVER),
                   startsWith("--rotation-fraction expects a number between 0 and 1 exclusive"));
    }

    @Test
    @Timeout(10)
    void spiffeIdOfAnotherTrustDomainIsRefused() {
        assertThat(error("--workload", "/tmp/ec-t/s.sock=spiffe://other.test/ns/echo/sa/echo-server"),
                   allOf(startsWith("--workload /tmp/ec-t/s.sock=spiffe://other.test"),
                         containsString("not in trust domain echo.local")));
    }

    @Test
    @Timeout(10)
    void malformedSpiffeIdIsRefused() {
        assertThat(error("--write-svid", "/tmp/ec-t/curl=http://echo.local/x"),
                   allOf(startsWith("--write-svid /tmp/ec-t/curl=http://echo.local/x"),
                         containsString("expected spiffe://echo.local/<path>")));
    }

    @Test
    @Timeout(10)
    void socketPathOverTheUnixLimitIsRefused() {
        String socket = "/tmp/" + "d".repeat(110) + "/s.sock";
        assertThat(error("--workload", socket + "=" + SERVER),
                   allOf(startsWith("--workload " + socket), containsString("over the Unix socket limit of 107")));
    }

    @Test
    @Timeout(10)
    void sameSocketTwiceIsRefused() {
        assertThat(error("--workload", "/tmp/ec-t/s.sock=" + SERVER, "--workload", "/tmp/ec-t/s.sock=" + TRAEFIK),
                   is("--workload names /tmp/ec-t/s.sock twice; give each one path"));
    }

    @Test
    @Timeout(10)
    void unknownOptionAndEmptyCommandLineAreRefused() {
        assertThat(error("--port", "1"), startsWith("unknown option \"--port\""));
        assertThat(error(), startsWith("nothing to serve: give at least one --workload"));
    }

    @Test
    @Timeout(10)
    void badTrustDomainAndDnsNameAreRefused() {
        assertThat(error("--trust-domain", "Echo Local", "--workload", "/tmp/ec-t/s.sock=" + SERVER),
                   startsWith("--trust-domain: Invalid trust domain \"Echo Local\""));
        assertThat(error("--dns-san", "local host"), startsWith("--dns-san expects a DNS name"));
    }

    @Test
    @Timeout(10)
    void usageErrorExitsWithTwoAndPointsToHelp() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.reportUsageError(new CliException("--workload needs a value"),
                                           new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(status, is(2));
        assertThat(err.toString(StandardCharsets.UTF_8),
                   is("dev-workload-api: --workload needs a value\nRun with --help for usage.\n"));
    }

    @Test
    @Timeout(30)
    void servesWhatTheCommandLineAsksAndPrintsReadyLine() throws Exception {
        Path dir = TestDirs.create();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            CliOptions options = CliOptions.parse(List.of(
                    "--dns-san", "localhost",
                    "--workload", dir.resolve("s.sock") + "=" + SERVER,
                    "--write-svid", dir.resolve("curl") + "=" + TRAEFIK));
            try (LocalWorkloadApi api = Main.serve(options, new PrintStream(out, true, StandardCharsets.UTF_8))) {
                assertThat(out.toString(StandardCharsets.UTF_8),
                           startsWith("ready: 1 workload on " + dir.resolve("s.sock") + " (" + SERVER + ")"));
                assertThat(Files.exists(dir.resolve("s.sock")), is(true));
                assertThat(api.workloads().getFirst().currentSvid().leaf().getSubjectAlternativeNames().toString(),
                           containsString("localhost"));
                assertThat(Files.exists(SvidFiles.in(dir.resolve("curl")).key()), is(true));
            }
            assertThat("socket removed on close", Files.exists(dir.resolve("s.sock")), is(false));
        } finally {
            TestDirs.delete(dir);
        }
    }

    private static String error(String... args) {
        return assertThrows(CliException.class, () -> CliOptions.parse(List.of(args))).getMessage();
    }
}
