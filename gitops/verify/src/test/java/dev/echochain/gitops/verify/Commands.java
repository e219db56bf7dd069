package dev.echochain.gitops.verify;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Runs external tools (kubectl, shellcheck, bash) and finds them on a PATH. */
final class Commands {

    private Commands() {
    }

    /** The outcome of one process: exit code, standard output and standard error. */
    record Result(int exitCode, String stdout, String stderr) {
        String both() {
            return stdout + stderr;
        }
    }

    /** Finds an executable on the given PATH value, as a shell would. */
    static Optional<Path> find(String name, String pathValue) {
        for (String dir : pathValue.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Finds a tool on this process's PATH or fails with what to install. */
    static Path require(String name, String installHint) {
        return require(name, System.getenv().getOrDefault("PATH", ""), installHint);
    }

    static Path require(String name, String pathValue, String installHint) {
        return find(name, pathValue).orElseThrow(() -> new IllegalStateException(
                name + " was not found on PATH, so this offline check cannot run. Install it: " + installHint));
    }

    /** Runs a command with extra environment and optional stdin, killing it after the timeout. */
    static Result run(List<String> command, Path workDir, Map<String, String> env, String stdin, Duration timeout) {
        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
        builder.environment().putAll(env);
        try {
            Path out = Files.createTempFile("ec-out", ".txt");
            Path err = Files.createTempFile("ec-err", ".txt");
            try {
                builder.redirectOutput(out.toFile()).redirectError(err.toFile());
                Process process = builder.start();
                try (var in = process.getOutputStream()) {
                    if (stdin != null) {
                        in.write(stdin.getBytes(StandardCharsets.UTF_8));
                    }
                }
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor();
                    throw new IllegalStateException("Timed out after " + timeout + ": " + String.join(" ", command));
                }
                return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("Failed to run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running " + String.join(" ", command), e);
        }
    }
}
