package dev.echochain.bench;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;

/**
 * Runs the whole benchmark in one process: the Workload API and the load generator live here, every system under
 * test runs as its own process on the server cores. Each comparison interleaves its two systems window by window
 * and reports the ratio of each round, so that a noisy neighbour moves both sides alike.
 *
 * <p>Usage: {@code BenchMain --mode quick|full --jars <dir> --out <dir> --logs <dir> [--server-cpus 0] [--only
 * throughput,gateway,plaintext,provider,handshakes,startup,rotation,soak]}. The jars directory holds a
 * private copy of each runnable jar with its libs ({@code echo-server/}, {@code echo-gateway/}, {@code bench/}), so
 * that a rebuild of a module during a run cannot change the code under test.
 */
public final class BenchMain {

    private static final System.Logger LOGGER = System.getLogger(BenchMain.class.getName());
    private static final List<String> DEFAULT_FLAGS = List.of("--enable-native-access=ALL-UNNAMED");
    /** The JVM settings of the container images (Jib jvmFlags and the Deployments' JAVA_TOOL_OPTIONS). */
    static final List<String> IMAGE_FLAGS = imageFlags();

    private final Mode mode;
    private final Path jars;
    private final Path out;
    private final Path logs;
    private final String serverCpus;
    private final Set<String> only;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private final List<Comparison> comparisons = new ArrayList<>();
    private final List<Proc> running = new ArrayList<>();
    private Identities ids;
    private Proc echoServer;
    private Proc gateway;
    private Proc refMtls;
    private Proc refPlain;
    private Proc echoServerJdk;
    private int echoPort;
    private int echoJdkPort;
    private int gatewayPort;
    private int gatewayObservePort;
    private int refMtlsPort;
    private int refPlainPort;

    private BenchMain(Mode mode, Path jars, Path out, Path logs, String serverCpus, Set<String> only) {
        this.mode = mode;
        this.jars = jars;
        this.out = out;
        this.logs = logs;
        this.serverCpus = serverCpus;
        this.only = only;
    }

    /**
     * Runs the benchmark and writes results.json, results.md and the plot data into the output directory.
     *
     * @param args see the class description
     * @throws Exception when the run cannot continue
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i], args[i + 1]);
        }
        Set<String> only = Set.of(options.getOrDefault("--only",
                "throughput,gateway,plaintext,provider,handshakes,startup,rotation,soak").split(","));
        Mode mode = Mode.of(options.getOrDefault("--mode", "quick"));
        String warm = System.getenv("BENCH_WARM_SLICES");
        if (warm != null && !warm.isBlank()) {
            mode = mode.withWarmSlices(Integer.parseInt(warm.strip()));
        }
        BenchMain bench = new BenchMain(mode,
                Path.of(options.getOrDefault("--jars", "bench/results/tmp/jars")).toAbsolutePath(),
                Path.of(options.getOrDefault("--out", "bench/results/tmp/quick")).toAbsolutePath(),
                Path.of(options.getOrDefault("--logs", "bench/results/tmp/logs")).toAbsolutePath(),
                options.getOrDefault("--server-cpus", "0"), only);
        bench.run();
        System.exit(0);
    }

    private void run() throws Exception {
        Files.createDirectories(logs);
        Files.createDirectories(out);
        results.put("mode", mode.name());
        results.put("started", Instant.now().toString());
        results.put("machine", Machine.describe(serverCpus));
        results.put("harness_crypto", installAccp());
        results.put("image_flags", String.join(" ", IMAGE_FLAGS));
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "ec-b");
        // on Ctrl-C or SIGTERM the finally block below does not run; stop the servers anyway
        Thread stopAll = new Thread(() -> List.copyOf(running).reversed().forEach(Proc::close));
        Runtime.getRuntime().addShutdownHook(stopAll);
        try {
            ids = new Identities(dir);
            startServers();
            section("throughput", this::throughput);
            section("gateway", this::gatewayComparison);
            section("plaintext", this::plaintext);
            section("provider", this::provider);
            if (System.getenv("BENCH_CANDIDATE_FLAGS") != null) {
                section("flags", this::candidateFlags);
            }
            section("handshakes", () -> handshakes(dir));
            section("startup", this::startup);
            section("rotation", this::rotation);
            section("soak", this::soak);
        } finally {
            for (Proc proc : running.reversed()) {
                proc.close();
            }
            if (ids != null) {
                ids.close();
            }
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
            results.put("finished", Instant.now().toString());
            results.put("load_average_after", Machine.loadAverage());
            write();
        }
    }

    /** One section of the run. */
    @FunctionalInterface
    private interface Section {
        void run() throws Exception;
    }

    /** Runs a section if selected; a failure is logged and recorded, and the run goes on with the next section. */
    private void section(String name, Section section) throws IOException {
        if (!only.contains(name)) {
            return;
        }
        LOGGER.log(Level.INFO, "Section {0}", name);
        try {
            section.run();
        } catch (Exception e) {
            LOGGER.log(Level.ERROR, "Section " + name + " failed", e);
            results.put("error_" + name, e.toString());
            write();
        }
    }

    /** The image's JVM flags, or BENCH_IMAGE_FLAGS (space-separated) to try others. */
    private static List<String> imageFlags() {
        String flags = System.getenv("BENCH_IMAGE_FLAGS");
        if (flags != null && !flags.isBlank()) {
            return List.of(flags.strip().split("\\s+"));
        }
        return List.of("-XX:+UseSerialGC", "-Xms48m", "-Xmx64m", "-XX:+UseCompactObjectHeaders",
                "-XX:TrimNativeHeapInterval=2000", "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED");
    }

    private static String installAccp() {
        try {
            AmazonCorrettoCryptoProvider.install();
            AmazonCorrettoCryptoProvider.INSTANCE.assertHealthy();
            return "ACCP " + AmazonCorrettoCryptoProvider.INSTANCE.getVersionStr();
        } catch (RuntimeException | LinkageError e) {
            LOGGER.log(Level.WARNING, "The load generator runs on the JDK's own crypto: {0}", e.toString());
            return "JDK";
        }
    }

    // ---- processes

    private void startServers() throws Exception {
        echoPort = freePort();
        int echoObserve = freePort();
        echoServer = startEchoServer("echo-server", IMAGE_FLAGS, echoPort, echoObserve,
                Map.of("CRYPTO_PROVIDER", "accp"));
        echoJdkPort = freePort();
        int echoJdkObserve = freePort();
        echoServerJdk = startEchoServer("echo-server-jdk-crypto", IMAGE_FLAGS, echoJdkPort, echoJdkObserve,
                Map.of("CRYPTO_PROVIDER", "jdk"));
        refMtlsPort = freePort();
        refMtls = startRef("grpc-java-mtls", refMtlsPort, "mtls", "default");
        refPlainPort = freePort();
        refPlain = startRef("grpc-java-plaintext", refPlainPort, "plaintext", "default");
        gatewayPort = freePort();
        gatewayObservePort = freePort();
        gateway = startGateway("echo-gateway", IMAGE_FLAGS, gatewayPort, gatewayObservePort);
        awaitReady(echoObserve);
        awaitReady(echoJdkObserve);
        awaitReady(gatewayObservePort);
        awaitValid(() -> GrpcCaller.mtls(ids, refMtlsPort, Identities.SERVER_ID));
        awaitValid(() -> GrpcCaller.plaintext(refPlainPort, Identities.SERVER_ID));
        LOGGER.log(Level.INFO, "All servers up: echo-server {0}, gateway {1}, grpc-java mTLS {2}, plaintext {3}",
                echoPort, gatewayPort, refMtlsPort, refPlainPort);
    }

    private Proc startEchoServer(String name, List<String> flags, int port, int observe, Map<String, String> extra)
            throws IOException {
        Map<String, String> env = new LinkedHashMap<>(Map.of(
                "SPIFFE_ENDPOINT_SOCKET", ids.server.address(),
                "SERVER_HOST", "127.0.0.1",
                "SERVER_PORT", Integer.toString(port),
                "OBSERVE_PORT", Integer.toString(observe),
                "ECHO_ALLOWED_CALLERS", Identities.GATEWAY_ID + "," + Identities.CLIENT_ID));
        env.putAll(extra);
        Proc proc = Proc.java(name, serverCpus, flags,
                List.of("-jar", jars.resolve("echo-server/echo-server.jar").toString()), env, logs);
        running.add(proc);
        return proc;
    }

    private Proc startGateway(String name, List<String> flags, int port, int observe) throws IOException {
        Map<String, String> env = Map.of(
                "SPIFFE_ENDPOINT_SOCKET", ids.gateway.address(),
                "SERVER_HOST", "127.0.0.1",
                "SERVER_PORT", Integer.toString(port),
                "OBSERVE_PORT", Integer.toString(observe),
                "GATEWAY_ALLOWED_CALLERS", Identities.CLIENT_ID,
                "GATEWAY_UPSTREAM_ADDRESS", "127.0.0.1:" + echoPort,
                "GATEWAY_UPSTREAM_ID", Identities.SERVER_ID);
        Proc proc = Proc.java(name, serverCpus, flags,
                List.of("-jar", jars.resolve("echo-gateway/echo-gateway.jar").toString()), env, logs);
        running.add(proc);
        return proc;
    }

    private Proc startRef(String name, int port, String security, String provider) throws IOException {
        Proc proc = Proc.java(name, serverCpus, IMAGE_FLAGS,
                List.of("-cp", jars.resolve("bench/bench.jar").toString(), RefServer.class.getName(),
                        Integer.toString(port), security, provider),
                Map.of("SPIFFE_ENDPOINT_SOCKET", ids.server.address(),
                        "ECHO_ALLOWED_CALLERS", Identities.GATEWAY_ID + "," + Identities.CLIENT_ID), logs);
        running.add(proc);
        return proc;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void awaitReady(int observePort) throws InterruptedException {
        HttpClient plain = HttpClient.newHttpClient();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + observePort
                + "/observe/health/ready")).timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (plain.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 204) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("not ready within 90 s: observe port " + observePort);
    }

    private static long awaitValid(Supplier<GrpcCaller> callers) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            try (GrpcCaller caller = callers.get()) {
                if (caller.probe(2000)) {
                    return System.nanoTime();
                }
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("no valid gRPC reply within 90 s");
    }

    // ---- comparisons 1, 2, 3: interleaved closed-loop ladders

    private void throughput() throws Exception {
        try (GrpcCaller ref = GrpcCaller.mtls(ids, refMtlsPort, Identities.SERVER_ID);
             GrpcCaller echo = GrpcCaller.mtls(ids, echoPort, Identities.SERVER_ID)) {
            Comparison pair = new Comparison("echo-server-vs-grpc-java",
                    "echo-server (Helidon gRPC, mTLS) against grpc-java Netty (BoringSSL), same SVID",
                    "grpc-java", "echo-server", mode.ladder());
            pair.servers(List.of(refMtls), List.of(echoServer)).run(mode, ref, echo);
            comparisons.add(pair);
            write();
        }
    }

    private void gatewayComparison() throws Exception {
        try (GrpcCaller direct = GrpcCaller.mtls(ids, echoPort, Identities.SERVER_ID);
             Caller viaGateway = "h1".equals(System.getenv("BENCH_GATEWAY_CLIENT")) ? new Http1Caller(ids, gatewayPort)
                     : new HttpsCaller(ids, gatewayPort)) {
            double connectionsBefore = upstreamConnections();
            Comparison pair = new Comparison("gateway-vs-direct",
                    "echo-gateway end to end (HTTPS mTLS, then gRPC mTLS) against echo-server directly (gRPC mTLS); "
                            + "both services on the server cores",
                    "echo-server direct", "echo-gateway", mode.ladder());
            pair.servers(List.of(echoServer), List.of(gateway, echoServer)).run(mode, direct, viaGateway);
            double connections = upstreamConnections() - connectionsBefore;
            long requests = pair.requests("b");
            Map<String, Object> hop = new LinkedHashMap<>();
            hop.put("upstream_connections_opened", connections);
            hop.put("gateway_requests", requests);
            hop.put("handshakes_per_10k_requests", requests == 0 ? Double.NaN : connections * 10_000 / requests);
            pair.extra.put("gateway_to_server_hop", hop);

            // target 6: latency at half of each side's highest closed-loop rate, open loop, interleaved
            double directRate = pair.maxThroughput("a") / 2;
            double gatewayRate = pair.maxThroughput("b") / 2;
            List<Double> ratios = new ArrayList<>();
            List<Map<String, Object>> windows = new ArrayList<>();
            for (int round = 0; round < mode.rounds(); round++) {
                Window a = Driver.open("echo-server direct", direct, directRate, mode.window());
                Window b = Driver.open("echo-gateway", viaGateway, gatewayRate, mode.window());
                windows.add(Comparison.describe(a));
                windows.add(Comparison.describe(b));
                if (a.failed() == 0 && b.failed() == 0) {
                    ratios.add(b.p99() / a.p99());
                }
            }
            Map<String, Object> half = new LinkedHashMap<>();
            half.put("direct_rate", directRate);
            half.put("gateway_rate", gatewayRate);
            half.put("p99_ratio", Comparison.stats(Stats.of(ratios)));
            half.put("windows", windows);
            pair.extra.put("p99_at_half_max_rate", half);
            comparisons.add(pair);
            write();
        }
    }

    private double upstreamConnections() throws IOException, InterruptedException {
        HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + gatewayObservePort + "/observe/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        return metrics.body().lines()
                .filter(line -> line.startsWith("gateway_upstream_connections_total"))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElse(Double.NaN);
    }

    private void plaintext() throws Exception {
        try (GrpcCaller mtls = GrpcCaller.mtls(ids, refMtlsPort, Identities.SERVER_ID);
             GrpcCaller plain = GrpcCaller.plaintext(refPlainPort, Identities.SERVER_ID)) {
            Comparison pair = new Comparison("grpc-java-plaintext-vs-mtls",
                    "grpc-java Netty: plaintext against mTLS (BoringSSL)", "grpc-java mTLS", "grpc-java plaintext",
                    mode.plainLadder());
            pair.servers(List.of(refMtls), List.of(refPlain)).run(mode, mtls, plain);
            comparisons.add(pair);
            write();
        }
    }

    private void provider() throws Exception {
        try (GrpcCaller jdk = GrpcCaller.mtls(ids, echoJdkPort, Identities.SERVER_ID);
             GrpcCaller accp = GrpcCaller.mtls(ids, echoPort, Identities.SERVER_ID)) {
            Comparison pair = new Comparison("echo-server-accp-vs-jdk",
                    "echo-server throughput: native crypto provider (ACCP) against the JDK's", "JDK crypto",
                    "ACCP", mode.plainLadder());
            pair.servers(List.of(echoServerJdk), List.of(echoServer)).run(mode, jdk, accp);
            comparisons.add(pair);
            write();
        }
    }

    /** Not in the default run: echo-server with the image's flags against BENCH_CANDIDATE_FLAGS. */
    private void candidateFlags() throws Exception {
        List<String> candidate = List.of(System.getenv("BENCH_CANDIDATE_FLAGS").strip().split("\\s+"));
        int port = freePort();
        int observe = freePort();
        Proc proc = startEchoServer("echo-server-candidate-flags", candidate, port, observe, Map.of());
        awaitReady(observe);
        try (GrpcCaller image = GrpcCaller.mtls(ids, echoPort, Identities.SERVER_ID);
             GrpcCaller other = GrpcCaller.mtls(ids, port, Identities.SERVER_ID)) {
            Comparison pair = new Comparison("echo-server-candidate-flags",
                    "echo-server throughput: candidate JVM flags (" + String.join(" ", candidate)
                            + ") against the image's", "image flags", "candidate flags", mode.plainLadder());
            pair.servers(List.of(echoServer), List.of(proc)).run(mode, image, other);
            comparisons.add(pair);
            write();
        } finally {
            proc.close();
            running.remove(proc);
        }
    }

    // ---- comparison 4: server CPU per new mTLS connection

    private void handshakes(Path dir) throws Exception {
        Map<String, Proc> servers = new LinkedHashMap<>();
        Map<String, Integer> ports = new LinkedHashMap<>();
        if (Nginx.available()) {
            int port = freePort();
            Proc nginx = Nginx.start(dir.resolve("nginx"), ids.serverPem(dir.resolve("pem")), port, serverCpus, logs);
            running.add(nginx);
            servers.put("nginx (OpenSSL)", nginx);
            ports.put("nginx (OpenSSL)", port);
        } else {
            LOGGER.log(Level.WARNING, "nginx is not installed; the OpenSSL reference is left out");
        }
        servers.put("grpc-java (BoringSSL)", refMtls);
        ports.put("grpc-java (BoringSSL)", refMtlsPort);
        int refJdkPort = freePort();
        Proc refJdk = startRef("grpc-java-jdk", refJdkPort, "mtls", "jdk");
        awaitValid(() -> GrpcCaller.mtls(ids, refJdkPort, Identities.SERVER_ID));
        servers.put("grpc-java (JDK TLS)", refJdk);
        ports.put("grpc-java (JDK TLS)", refJdkPort);
        servers.put("echo-server (JDK crypto)", echoServerJdk);
        ports.put("echo-server (JDK crypto)", echoJdkPort);
        servers.put("echo-server", echoServer);
        ports.put("echo-server", echoPort);
        for (String name : servers.keySet()) {
            awaitHandshake(ports.get(name));
        }

        Map<String, List<Double>> perHandshake = new LinkedHashMap<>();
        List<Map<String, Object>> windows = new ArrayList<>();
        for (int round = mode.name().equals("full") ? -2 : 0; round < mode.handshakeRounds(); round++) {
            for (Map.Entry<String, Proc> server : servers.entrySet()) {
                Proc proc = server.getValue();
                double before = proc.cpuSeconds();
                Handshakes.Run run = Handshakes.openLoop(ids, ports.get(server.getKey()), Identities.SERVER_ID,
                        mode.handshakeRate(), mode.handshakeWindow());
                double cpu = proc.cpuSeconds() - before;
                if (round < 0) {
                    continue;
                }
                double ms = run.ok() == 0 ? Double.NaN : cpu * 1000 / run.ok();
                Map<String, Object> window = new LinkedHashMap<>();
                window.put("server", server.getKey());
                window.put("round", round);
                window.put("connections_ok", run.ok());
                window.put("connections_failed", run.failed());
                window.put("connections_skipped_server_saturated", run.skipped());
                window.put("seconds", run.seconds());
                window.put("server_cpu_seconds", cpu);
                window.put("server_cpu_ms_per_handshake", ms);
                window.put("first_error", run.firstError());
                windows.add(window);
                if (run.failed() == 0) {
                    perHandshake.computeIfAbsent(server.getKey(), k -> new ArrayList<>()).add(ms);
                }
                LOGGER.log(Level.INFO, "handshakes {0} round {1}: {2} ok, {3} failed, {4} skipped, {5} ms CPU each",
                        server.getKey(), round, run.ok(), run.failed(), run.skipped(), String.format("%.2f", ms));
            }
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        for (Map.Entry<String, List<Double>> entry : perHandshake.entrySet()) {
            summary.put(entry.getKey(), Comparison.stats(Stats.of(entry.getValue())));
        }
        Map<String, Object> section = new LinkedHashMap<>();
        section.put("style", "open loop, " + mode.handshakeRate() + " new connections/s, full TLS 1.3 handshake on "
                + "P-256 with client certificate, ALPN h2, then the HTTP/2 preface until the server's SETTINGS");
        section.put("ms_per_handshake", summary);
        List<Double> nginx = perHandshake.get("nginx (OpenSSL)");
        List<Double> echo = perHandshake.get("echo-server");
        if (nginx != null && echo != null) {
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < Math.min(nginx.size(), echo.size()); i++) {
                ratios.add(echo.get(i) / nginx.get(i));
            }
            section.put("echo_server_over_nginx", Comparison.stats(Stats.of(ratios)));
        }
        section.put("windows", windows);
        results.put("handshakes", section);
        refJdk.close();
        write();
    }

    private void awaitHandshake(int port) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try {
                Handshakes.connect(ids, port, Identities.SERVER_ID);
                return;
            } catch (IOException e) {
                last = e;
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("no mTLS handshake on port " + port + ": " + last);
    }

    // ---- comparison 5: start-up and memory

    private void startup() throws Exception {
        Map<String, Object> section = new LinkedHashMap<>();
        // quick mode checks the method on echo-server alone, to stay under two minutes
        List<String> services = mode.name().equals("full") ? List.of("echo-server", "echo-gateway")
                : List.of("echo-server");
        for (String service : services) {
            Map<String, List<String>> settings = new LinkedHashMap<>();
            settings.put("JVM defaults", DEFAULT_FLAGS);
            settings.put("image flags", IMAGE_FLAGS);
            Path aot = logs.resolve(service + ".aot");
            Files.deleteIfExists(aot);
            List<String> training = new ArrayList<>(IMAGE_FLAGS);
            training.add("-XX:AOTCacheOutput=" + aot);
            Launch train = launch(service, service + "-aot-training", training);
            load(service, train.port(), mode.training(), 16);
            train.proc().stopAndWait(60);
            running.remove(train.proc());
            if (Files.isRegularFile(aot)) {
                List<String> withCache = new ArrayList<>(IMAGE_FLAGS);
                withCache.add("-XX:AOTCache=" + aot);
                settings.put("image flags + AOT cache", withCache);
            } else {
                LOGGER.log(Level.WARNING, "No AOT cache was written for {0}; see {1}", service, logs);
            }

            Map<String, Map<String, List<Double>>> figures = new LinkedHashMap<>();
            for (int rep = 0; rep < mode.startReps(); rep++) {
                for (Map.Entry<String, List<String>> setting : settings.entrySet()) {
                    Launch launch = launch(service, service + "-start-" + rep, setting.getValue());
                    Thread.sleep(mode.settle().toMillis());
                    double idle = launch.proc().rssMib();
                    double[] underLoad = loadWithRss(service, launch, mode.loadForRss(), 64);
                    launch.proc().close();
                    running.remove(launch.proc());
                    Map<String, List<Double>> f = figures.computeIfAbsent(setting.getKey(),
                            k -> new LinkedHashMap<>());
                    f.computeIfAbsent("start_to_first_mtls_reply_ms", k -> new ArrayList<>()).add(launch.startMs());
                    f.computeIfAbsent("rss_idle_mib", k -> new ArrayList<>()).add(idle);
                    f.computeIfAbsent("rss_under_load_mib", k -> new ArrayList<>()).add(underLoad[0]);
                    f.computeIfAbsent("throughput_at_64", k -> new ArrayList<>()).add(underLoad[1]);
                    LOGGER.log(Level.INFO, "{0} with {1}: first reply after {2} ms, RSS idle {3} MiB, "
                                    + "under load {4} MiB at {5} rps", service, setting.getKey(),
                            Math.round(launch.startMs()), Math.round(idle), Math.round(underLoad[0]),
                            Math.round(underLoad[1]));
                }
            }
            Map<String, Object> perSetting = new LinkedHashMap<>();
            figures.forEach((setting, values) -> {
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("flags", String.join(" ", settings.get(setting)).replace(logs.toString(), "<dir>"));
                values.forEach((key, list) -> summary.put(key, Comparison.stats(Stats.of(list))));
                perSetting.put(setting, summary);
            });
            section.put(service, perSetting);
            Files.deleteIfExists(aot);
        }
        results.put("startup_and_memory", section);
        write();
    }

    private record Launch(Proc proc, int port, double startMs) {
    }

    private Launch launch(String service, String name, List<String> flags) throws Exception {
        int port = freePort();
        int observe = freePort();
        if (service.equals("echo-server")) {
            Proc proc = startEchoServer(name, flags, port, observe, Map.of());
            long first = awaitValid(() -> GrpcCaller.mtls(ids, port, Identities.SERVER_ID));
            return new Launch(proc, port, (first - proc.startNanos) / 1e6);
        }
        Proc proc = startGateway(name, flags, port, observe);
        try (HttpsCaller caller = new HttpsCaller(ids, port)) {
            long deadline = proc.startNanos + Duration.ofSeconds(90).toNanos();
            while (!caller.probe()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(name + " gave no valid reply within 90 s");
                }
                Thread.sleep(5);
            }
            return new Launch(proc, port, (System.nanoTime() - proc.startNanos) / 1e6);
        }
    }

    private Window load(String service, int port, Duration length, int inFlight) throws InterruptedException {
        try (Caller caller = service.equals("echo-server") ? GrpcCaller.mtls(ids, port, Identities.SERVER_ID)
                : new HttpsCaller(ids, port)) {
            return Driver.closed(service, caller, inFlight, length);
        }
    }

    /** Runs load while sampling RSS; returns the highest RSS in MiB and the throughput. */
    private double[] loadWithRss(String service, Launch launch, Duration length, int inFlight) throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        double[] max = {0};
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!done.get()) {
                max[0] = Math.max(max[0], launch.proc().rssMib());
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Window window = load(service, launch.port(), length, inFlight);
        done.set(true);
        sampler.join();
        return new double[] {max[0], window.failed() == 0 ? window.throughput() : Double.NaN};
    }

    // ---- comparison 6: SVID rotation under load

    private void rotation() throws Exception {
        Duration length = mode.rotationGap().plusMillis(300).multipliedBy(mode.rotations()).plusSeconds(3);
        List<Double> serverDelays = new ArrayList<>();
        List<Double> gatewayDelays = new ArrayList<>();
        List<Double> serverDone = new ArrayList<>();
        List<Double> gatewayDone = new ArrayList<>();
        long probeFailures = 0;
        Window direct;
        Window viaGateway;
        try (GrpcCaller grpc = GrpcCaller.mtls(ids, echoPort, Identities.SERVER_ID);
             HttpsCaller https = new HttpsCaller(ids, gatewayPort);
             ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Window> directLoad = threads.submit(() -> Driver.closed("echo-server", grpc, 16, length));
            Future<Window> gatewayLoad = threads.submit(() -> Driver.closed("echo-gateway", https, 16, length));
            Thread.sleep(1000);
            for (int i = 0; i < mode.rotations(); i++) {
                long pushed = System.nanoTime();
                ids.api.rotateSvids();
                BigInteger serverSerial = ids.server.currentSvid().serial();
                BigInteger gatewaySerial = ids.gateway.currentSvid().serial();
                CompletableFuture<double[]> server = CompletableFuture.supplyAsync(
                        () -> untilPresented(echoPort, Identities.SERVER_ID, serverSerial, pushed), threads);
                CompletableFuture<double[]> gw = CompletableFuture.supplyAsync(
                        () -> untilPresented(gatewayPort, Identities.GATEWAY_ID, gatewaySerial, pushed), threads);
                double[] s = server.join();
                double[] g = gw.join();
                if (Double.isNaN(s[0]) || Double.isNaN(g[0])) {
                    probeFailures++;
                }
                serverDelays.add(s[0]);
                gatewayDelays.add(g[0]);
                serverDone.add(s[1]);
                gatewayDone.add(g[1]);
                Thread.sleep(mode.rotationGap().toMillis());
            }
            direct = directLoad.get();
            viaGateway = gatewayLoad.get();
        }
        Map<String, Object> section = new LinkedHashMap<>();
        section.put("rotations", mode.rotations());
        section.put("load", "16 in flight direct to echo-server (gRPC) and 16 through the gateway (HTTPS), "
                + "closed loop, during all rotations");
        section.put("direct", Comparison.describe(direct));
        section.put("gateway", Comparison.describe(viaGateway));
        section.put("failed_requests", direct.failed() + viaGateway.failed());
        section.put("failed_new_handshakes", probeFailures);
        section.put("new_svid_measure", "a new connection every 20 ms after the push: ms from the push to the latest "
                + "start of a connection that still got the old SVID; *_done: to the end of the first handshake that "
                + "got the new one (upper bound)");
        section.put("echo_server_new_svid_ms", Comparison.stats(Stats.of(serverDelays)));
        section.put("gateway_new_svid_ms", Comparison.stats(Stats.of(gatewayDelays)));
        section.put("echo_server_new_svid_done_ms", Comparison.stats(Stats.of(serverDone)));
        section.put("gateway_new_svid_done_ms", Comparison.stats(Stats.of(gatewayDone)));
        section.put("echo_server_new_svid_ms_max", max(serverDelays));
        section.put("gateway_new_svid_ms_max", max(gatewayDelays));
        results.put("rotation", section);
        write();
    }

    private static double max(List<Double> values) {
        return values.stream().mapToDouble(d -> d).max().orElse(Double.NaN);
    }

    /**
     * Starts a new connection every 20 ms, each on its own thread, until one presents the SVID with this serial, then
     * waits for all of them. Returns, in ms since the push: the latest start of a connection that still got the old
     * SVID (0 when none did: every handshake begun after the push used the new one), and the end of the first
     * handshake that got the new SVID (an upper bound). NaN when a handshake failed or none got the new SVID in 5 s.
     */
    private double[] untilPresented(int port, String id, BigInteger serial, long pushed) {
        List<CompletableFuture<double[]>> probes = new ArrayList<>();
        long deadline = pushed + Duration.ofSeconds(5).toNanos();
        AtomicBoolean seen = new AtomicBoolean();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            while (!seen.get() && System.nanoTime() < deadline) {
                probes.add(CompletableFuture.supplyAsync(() -> {
                    long start = System.nanoTime();
                    try {
                        boolean fresh = Handshakes.connect(ids, port, id).getSerialNumber().equals(serial);
                        seen.compareAndSet(false, fresh);
                        return new double[] {(start - pushed) / 1e6, (System.nanoTime() - pushed) / 1e6, fresh ? 1 : 0};
                    } catch (IOException e) {
                        LOGGER.log(Level.WARNING, "A new handshake failed during rotation: {0}", e.toString());
                        return new double[] {Double.NaN, Double.NaN, -1};
                    }
                }, threads));
                LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
            }
        }
        double lastOld = 0;
        double firstNewEnd = Double.POSITIVE_INFINITY;
        for (CompletableFuture<double[]> probe : probes) {
            double[] p = probe.join();
            if (p[2] < 0) {
                return new double[] {Double.NaN, Double.NaN};
            }
            if (p[2] == 0) {
                lastOld = Math.max(lastOld, p[0]);
            } else {
                firstNewEnd = Math.min(firstNewEnd, p[1]);
            }
        }
        return Double.isInfinite(firstNewEnd) ? new double[] {Double.NaN, Double.NaN}
                : new double[] {lastOld, firstNewEnd};
    }

    // ---- the soak: a moderate rate through the gateway for minutes, RSS read after every window

    private void soak() throws Exception {
        List<Map<String, Object>> windows = new ArrayList<>();
        List<Double> gatewayRss = new ArrayList<>();
        List<Double> serverRss = new ArrayList<>();
        long ok = 0;
        long failed = 0;
        String firstError = null;
        try (HttpsCaller https = new HttpsCaller(ids, gatewayPort)) {
            // warm up as every comparison does, so that a soak run on its own starts from warm services
            Driver.closed("echo-gateway", https, 64, mode.warmSlice().multipliedBy(mode.warmSlices()));
            for (int i = 0; i < mode.soakWindows(); i++) {
                Window window = Driver.open("echo-gateway", https, mode.soakRate(), mode.soakWindow());
                ok += window.ok();
                failed += window.failed();
                firstError = firstError == null ? window.firstError() : firstError;
                Map<String, Object> row = Comparison.describe(window);
                double g = gateway.rssMib();
                double s = echoServer.rssMib();
                row.put("gateway_rss_mib", g);
                row.put("echo_server_rss_mib", s);
                gatewayRss.add(g);
                serverRss.add(s);
                windows.add(row);
                LOGGER.log(Level.INFO, "soak {0}/{1}: {2} ok, {3} failed, p99 {4} ms; RSS gateway {5} MiB, "
                                + "echo-server {6} MiB", i + 1, mode.soakWindows(), window.ok(), window.failed(),
                        String.format("%.2f", window.p99()), g, s);
            }
        }
        Map<String, Object> section = new LinkedHashMap<>();
        section.put("load", "open loop through the gateway (HTTPS mTLS, then gRPC mTLS to echo-server)");
        section.put("rate_rps", mode.soakRate());
        section.put("seconds", mode.soakWindow().toSeconds() * mode.soakWindows());
        section.put("requests_ok", ok);
        section.put("requests_failed", failed);
        section.put("first_error", firstError);
        section.put("gateway_rss", rssTrend(gatewayRss));
        section.put("echo_server_rss", rssTrend(serverRss));
        section.put("windows", windows);
        results.put("soak", section);
        write();
    }

    /**
     * RSS at the end of the first window, at the midpoint and at the end, the highest, and the growth over the second
     * half in percent: a service that leaks keeps growing there, one that is steady has finished warming up.
     */
    private static Map<String, Object> rssTrend(List<Double> rss) {
        Map<String, Object> trend = new LinkedHashMap<>();
        double mid = rss.get((rss.size() - 1) / 2);
        double last = rss.getLast();
        trend.put("first_mib", rss.getFirst());
        trend.put("mid_mib", mid);
        trend.put("last_mib", last);
        trend.put("max_mib", max(rss));
        trend.put("second_half_growth_percent", (last - mid) * 100 / mid);
        return trend;
    }

    // ---- output

    private void write() throws IOException {
        List<Object> pairs = new ArrayList<>();
        for (Comparison pair : comparisons) {
            pairs.add(pair.toMap());
            pair.writePlotData(out);
        }
        results.put("comparisons", pairs);
        results.put("targets", Targets.evaluate(results, comparisons));
        Files.writeString(out.resolve("results.json"), Json.write(results));
        Files.writeString(out.resolve("results.md"), Report.markdown(results, comparisons));
        Files.writeString(out.resolve("plot.gp"), Report.gnuplot(comparisons));
    }
}
