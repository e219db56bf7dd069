package dev.echochain.devworkload;

import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import io.spiffe.spiffeid.TrustDomain;

/**
 * The command line of the runnable dev Workload API jar.
 *
 * @param trustDomain      trust domain name
 * @param svidTtl          lifetime of each SVID
 * @param rotationFraction when SVIDs rotate, as a fraction of their lifetime
 * @param workloads        Unix sockets to serve, each with its SPIFFE ID
 * @param svidDirectories  directories to keep PEM files of an SVID in
 * @param dnsSans          DNS SANs added to every SVID
 * @param help             whether only the usage was asked for
 */
public record CliOptions(String trustDomain,
                         Duration svidTtl,
                         double rotationFraction,
                         List<Target> workloads,
                         List<Target> svidDirectories,
                         List<String> dnsSans,
                         boolean help) {

    private static final Pattern DNS_NAME = Pattern.compile("(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                                                                    + "(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

    /**
     * A path paired with the SPIFFE ID it serves or holds.
     *
     * @param path     an absolute socket path or directory
     * @param spiffeId the SPIFFE ID
     */
    public record Target(Path path, String spiffeId) {
    }

    /**
     * Parses and checks a command line.
     *
     * @param args the arguments
     * @return the options
     * @throws CliException naming the option and the expected form when an argument is wrong
     */
    public static CliOptions parse(List<String> args) throws CliException {
        String trustDomain = "echo.local";
        Duration svidTtl = Duration.ofHours(1);
        double rotationFraction = 0.5;
        List<String[]> workloads = new ArrayList<>();
        List<String[]> directories = new ArrayList<>();
        List<String> dnsSans = new ArrayList<>();

        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String flag = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                flag = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (flag) {
            case "--help", "-h" -> {
                return new CliOptions(trustDomain, svidTtl, rotationFraction, List.of(), List.of(), List.of(), true);
            }
            case "--trust-domain" -> trustDomain = value != null ? value : next(args, ++i, flag, "<name>");
            case "--svid-ttl" -> svidTtl = duration(flag, value != null ? value : next(args, ++i, flag, "<ISO-8601>"));
            case "--rotation-fraction" -> rotationFraction = fraction(
                    flag, value != null ? value : next(args, ++i, flag, "<fraction>"));
            case "--workload" -> workloads.add(pair(
                    flag, value != null ? value : next(args, ++i, flag, "<socket path>=<SPIFFE ID>"),
                    "<socket path>=<SPIFFE ID>", "/tmp/ec-dev/server.sock=spiffe://echo.local/ns/echo/sa/echo-server"));
            case "--write-svid" -> directories.add(pair(
                    flag, value != null ? value : next(args, ++i, flag, "<directory>=<SPIFFE ID>"),
                    "<directory>=<SPIFFE ID>", "/tmp/ec-dev/curl=spiffe://echo.local/ns/traefik/sa/traefik-external"));
            case "--dns-san" -> dnsSans.add(dnsName(flag, value != null ? value : next(args, ++i, flag, "<host>")));
            default -> throw new CliException("unknown option \"" + arg + "\"; run with --help for the options");
            }
        }

        TrustDomain domain = trustDomain(trustDomain);
        if (workloads.isEmpty() && directories.isEmpty()) {
            throw new CliException("nothing to serve: give at least one --workload <socket path>=<SPIFFE ID> "
                    + "or --write-svid <directory>=<SPIFFE ID>");
        }
        List<Target> sockets = targets("--workload", workloads, domain, true);
        List<Target> dirs = targets("--write-svid", directories, domain, false);
        return new CliOptions(domain.getName(), svidTtl, rotationFraction, sockets, dirs, List.copyOf(dnsSans), false);
    }

    /**
     * The usage text printed by {@code --help}.
     *
     * @return the text
     */
    public static String usage() {
        return """
                Usage: java -jar dev-workload-api.jar [options]

                A local SPIFFE Workload API for development and tests: one Unix socket per workload, each handing
                out its own X.509-SVID from an in-memory CA that rotates the SVIDs. Not for production.

                Options:
                  --trust-domain <name>            trust domain (default echo.local)
                  --svid-ttl <ISO-8601>            lifetime of each SVID, e.g. PT1H or PT5M (default PT1H)
                  --rotation-fraction <fraction>   rotate SVIDs after this part of their lifetime, between 0 and 1
                                                   exclusive (default 0.5)
                  --workload <socket>=<SPIFFE ID>  serve the Workload API on this Unix socket for this identity;
                                                   repeatable; the absolute path must fit in 107 bytes
                  --write-svid <dir>=<SPIFFE ID>   write svid.pem, key.pem (PKCS#8) and bundle.pem for this identity
                                                   into the directory and rewrite them on rotation; repeatable
                  --dns-san <host>                 add a DNS SAN to every SVID, e.g. localhost so that curl can check
                                                   the host name of a local service; repeatable
                  --help                           print this text

                It prints "ready: ..." once serving, runs until SIGTERM or SIGINT, then removes its sockets.
                Point a workload at its socket with SPIFFE_ENDPOINT_SOCKET=unix:<socket path>.

                Example:
                  java -jar dev-workload-api.jar --dns-san localhost \\
                    --workload /tmp/ec-dev/server.sock=spiffe://echo.local/ns/echo/sa/echo-server \\
                    --write-svid /tmp/ec-dev/curl=spiffe://echo.local/ns/traefik/sa/traefik-external
                """;
    }

    private static String next(List<String> args, int i, String flag, String form) throws CliException {
        if (i >= args.size() || args.get(i).startsWith("--")) {
            throw new CliException(flag + " needs a value: " + flag + " " + form);
        }
        return args.get(i);
    }

    private static Duration duration(String flag, String value) throws CliException {
        try {
            Duration parsed = Duration.parse(value);
            if (parsed.isNegative() || parsed.isZero()) {
                throw new CliException(flag + " must be positive, got \"" + value + "\"");
            }
            return parsed;
        } catch (DateTimeParseException e) {
            throw new CliException(flag + " expects an ISO-8601 duration such as PT1H or PT5M, got \"" + value + "\"");
        }
    }

    private static double fraction(String flag, String value) throws CliException {
        try {
            double parsed = Double.parseDouble(value);
            if (parsed > 0 && parsed < 1) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below with the expected form
        }
        throw new CliException(flag + " expects a number between 0 and 1 exclusive, such as 0.5, got \""
                + value + "\"");
    }

    private static String dnsName(String flag, String value) throws CliException {
        if (!DNS_NAME.matcher(value).matches()) {
            throw new CliException(flag + " expects a DNS name such as localhost, got \"" + value + "\"");
        }
        return value;
    }

    private static String[] pair(String flag, String value, String form, String example) throws CliException {
        int eq = value.indexOf('=');
        if (eq <= 0 || eq == value.length() - 1) {
            throw new CliException(flag + " expects " + form + ", such as " + example + ", got \"" + value + "\"");
        }
        return new String[] {value.substring(0, eq), value.substring(eq + 1)};
    }

    private static TrustDomain trustDomain(String name) throws CliException {
        try {
            return LocalCa.parseTrustDomain(name);
        } catch (IllegalArgumentException e) {
            throw new CliException("--trust-domain: " + e.getMessage());
        }
    }

    private static List<Target> targets(String flag, List<String[]> pairs, TrustDomain domain, boolean socket)
            throws CliException {
        List<Target> targets = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        for (String[] pair : pairs) {
            try {
                Path path = socket
                        ? WorkloadEndpoint.checkSocketPath(Path.of(pair[0]))
                        : Path.of(pair[0]).toAbsolutePath().normalize();
                if (!seen.add(path)) {
                    throw new CliException(flag + " names " + path + " twice; give each one path");
                }
                String spiffeId = LocalWorkloadApi.checkSpiffeId(pair[1], domain);
                targets.add(new Target(path, spiffeId));
            } catch (IllegalArgumentException e) {
                throw new CliException(flag + " " + pair[0] + "=" + pair[1] + ": " + e.getMessage());
            }
        }
        return List.copyOf(targets);
    }
}
