package dev.echochain.devworkload;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

/**
 * Runs the dev Workload API from the command line; see {@link CliOptions#usage()}.
 */
public final class Main {

    /** Exit status for a command line that cannot run. */
    public static final int EXIT_USAGE = 2;
    /** Exit status when serving fails. */
    public static final int EXIT_FAILURE = 1;

    private Main() {
    }

    /**
     * Serves until SIGTERM or SIGINT; exits with {@value #EXIT_USAGE} on a bad command line.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format",
                               "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        }

        CliOptions options;
        try {
            options = CliOptions.parse(List.of(args));
        } catch (CliException e) {
            System.exit(reportUsageError(e, System.err));
            return;
        }
        if (options.help()) {
            System.out.print(CliOptions.usage());
            return;
        }

        LocalWorkloadApi api;
        try {
            api = serve(options, System.out);
        } catch (RuntimeException e) {
            System.err.println("dev-workload-api: failed to start: " + e.getMessage());
            System.exit(EXIT_FAILURE);
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            api.close();
            System.err.println("dev-workload-api: stopped, sockets removed");
            stopped.countDown();
        }, "dev-workload-api-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Prints a command line error with a pointer to {@code --help}.
     *
     * @param e   the error
     * @param err where to print
     * @return the exit status for a bad command line
     */
    static int reportUsageError(CliException e, PrintStream err) {
        err.println("dev-workload-api: " + e.getMessage());
        err.println("Run with --help for usage.");
        return EXIT_USAGE;
    }

    /**
     * Starts serving what the options ask for and prints the {@code ready:} line.
     *
     * @param options the parsed command line
     * @param out     where the ready line goes
     * @return the running Workload API; the caller closes it
     */
    static LocalWorkloadApi serve(CliOptions options, PrintStream out) {
        LocalWorkloadApi api = LocalWorkloadApi.builder()
                .trustDomain(options.trustDomain())
                .svidTtl(options.svidTtl())
                .rotationFraction(options.rotationFraction())
                .dnsSans(options.dnsSans())
                .build();
        try {
            for (CliOptions.Target workload : options.workloads()) {
                api.addWorkload(workload.spiffeId(), workload.path());
            }
            for (CliOptions.Target dir : options.svidDirectories()) {
                api.writeSvidFiles(dir.spiffeId(), dir.path());
            }
        } catch (RuntimeException e) {
            api.close();
            throw e;
        }
        out.println(readyLine(options));
        out.flush();
        return api;
    }

    static String readyLine(CliOptions options) {
        StringBuilder line = new StringBuilder("ready: ")
                .append(options.workloads().size())
                .append(options.workloads().size() == 1 ? " workload" : " workloads");
        if (!options.workloads().isEmpty()) {
            line.append(" on ").append(options.workloads().stream()
                                               .map(w -> w.path() + " (" + w.spiffeId() + ")")
                                               .collect(Collectors.joining(", ")));
        }
        if (!options.svidDirectories().isEmpty()) {
            line.append("; SVID files in ").append(options.svidDirectories().stream()
                                                           .map(d -> d.path() + " (" + d.spiffeId() + ")")
                                                           .collect(Collectors.joining(", ")));
        }
        return line.append("; trust domain ").append(options.trustDomain()).toString();
    }
}
