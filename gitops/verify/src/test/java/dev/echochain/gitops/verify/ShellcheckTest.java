package dev.echochain.gitops.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

@Timeout(60)
class ShellcheckTest {

    static final String INSTALL_HINT = "shellcheck 0.9 or newer (apt-get install -y shellcheck)";

    @Test
    void bootstrapScriptIsCleanUnderShellcheck() {
        Path root = Snapshot.repositoryRoot();

        Commands.Result result = shellcheck(root.resolve("bootstrap.sh"), root);

        assertThat("shellcheck findings:\n" + result.both(), result.exitCode(), equalTo(0));
    }

    @Test
    void shellcheckReportsAnUnquotedExpansion(@TempDir Path dir) throws IOException {
        Path script = dir.resolve("broken.sh");
        Files.writeString(script, "#!/usr/bin/env bash\nrm $1\n");

        Commands.Result result = shellcheck(script, dir);

        assertThat(result.exitCode(), not(equalTo(0)));
        assertThat(result.both(), containsString("SC2086"));
    }

    private static Commands.Result shellcheck(Path script, Path workDir) {
        Path shellcheck = Commands.require("shellcheck", INSTALL_HINT);
        return Commands.run(List.of(shellcheck.toString(), script.toString()), workDir, Map.of(), null,
                Duration.ofSeconds(30));
    }
}
