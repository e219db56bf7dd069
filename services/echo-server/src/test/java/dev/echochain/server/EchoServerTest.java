package dev.echochain.server;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.echochain.devworkload.IssuedSvid;
import dev.echochain.devworkload.LocalCa;
import dev.echochain.devworkload.LocalWorkloadApi;
import dev.echochain.devworkload.WorkloadEndpoint;
import dev.echochain.echo.v1.EchoGrpc;
import dev.echochain.echo.v1.EchoReply;
import dev.echochain.echo.v1.EchoRequest;
import dev.echochain.identity.IdentityConfig;
import dev.echochain.identity.RejectReason;
import dev.echochain.identity.WorkloadIdentity;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.spiffe.bundle.BundleSource;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.provider.SpiffeTrustManager;
import io.spiffe.spiffeid.SpiffeId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** echo-server called directly over gRPC with mutual TLS, as echo-gateway and intruders would. */
@Timeout(60)
class EchoServerTest {

    private static final String SERVER_ID = "spiffe://echo.local/ns/echo/sa/echo-server";
    private static final String GATEWAY_ID = "spiffe://echo.local/ns/echo/sa/echo-gateway";

    private static Path dir;
    private static LocalWorkloadApi api;
    private static WorkloadIdentity identity;
    private static EchoServer server;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "es-");
        api = LocalWorkloadApi.builder().trustDomain("echo.local").svidTtl(Duration.ofHours(1)).build();
        WorkloadEndpoint endpoint = api.addWorkload(SERVER_ID, dir.resolve("s.sock"));
        identity = WorkloadIdentity.start(new IdentityConfig(endpoint.address(), Duration.ofSeconds(10)));
        assertThat("echo-server got its SVID", identity.awaitSvid(Duration.ofSeconds(10)), is(true));
        server = EchoServer.start(new EchoServerConfig("127.0.0.1", 0, 0, Duration.ofSeconds(5),
                Set.of(SpiffeId.parse(GATEWAY_ID)), 16, new IdentityConfig(endpoint.address(),
                Duration.ofSeconds(10))), identity);
    }

    @AfterAll
    static void stop() throws IOException {
        server.stop();
        identity.close();
        api.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }

    @Test
    void repliesWithTheMessageAndBothIdentities() throws Exception {
        EchoReply reply = call(api.issue(GATEWAY_ID), "hello");

        assertThat(reply.getMessage(), is("hello"));
        assertThat(reply.getServerId(), is(SERVER_ID));
        assertThat(reply.getCallerId(), is(GATEWAY_ID));
    }

    @Test
    void echoesUnicodeIntact() throws Exception {
        assertThat(call(api.issue(GATEWAY_ID), "héllo 👋").getMessage(), is("héllo 👋"));
    }

    @Test
    void acceptsEmptyMessage() throws Exception {
        assertThat(call(api.issue(GATEWAY_ID), "").getMessage(), is(""));
    }

    @Test
    void refusesOverlongMessageWithInvalidArgumentAndTheLimit() {
        StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
                () -> call(api.issue(GATEWAY_ID), "x".repeat(17)));

        assertThat(error.getStatus().getCode(), is(Status.Code.INVALID_ARGUMENT));
        assertThat(error.getStatus().getDescription(), containsString("limit is 16 bytes"));
    }

    @Test
    void refusesCallerWhoseIdIsNotAllowed() {
        long before = server.callers().rejected(RejectReason.ID_NOT_ALLOWED);

        StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
                () -> call(api.issue("spiffe://echo.local/ns/traefik/sa/traefik-external"), "hi"));

        assertThat(error.getStatus().getCode(), is(Status.Code.UNAVAILABLE));
        assertThat(server.callers().rejected(RejectReason.ID_NOT_ALLOWED), is(before + 1));
    }

    @Test
    void refusesCallerFromForeignTrustDomain() {
        long before = server.callers().rejected(RejectReason.FOREIGN_TRUST_DOMAIN);
        IssuedSvid foreign = LocalCa.create("other.test")
                .issue("spiffe://other.test/ns/echo/sa/echo-gateway", Duration.ofMinutes(5));

        StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> call(foreign, "hi"));

        assertThat(error.getStatus().getCode(), is(Status.Code.UNAVAILABLE));
        assertThat(server.callers().rejected(RejectReason.FOREIGN_TRUST_DOMAIN), is(before + 1));
    }

    @Test
    void refusesCallerWithoutCertificate() {
        long accepted = server.callers().accepted();

        StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> call(null, "hi"));

        assertThat(error.getStatus().getCode(), is(Status.Code.UNAVAILABLE));
        assertThat(server.callers().accepted(), is(accepted));
    }

    @Test
    void countsAndTimesCallsByOutcomeOnTheObservePort() throws Exception {
        double ok = callCount("ok");
        double invalid = callCount("invalid_argument");

        call(api.issue(GATEWAY_ID), "counted");
        assertThrows(StatusRuntimeException.class, () -> call(api.issue(GATEWAY_ID), "x".repeat(17)));

        assertThat("ok calls", callCount("ok"), is(ok + 1));
        assertThat("invalid_argument calls", callCount("invalid_argument"), is(invalid + 1));
    }

    /* echo_calls_seconds_count{outcome=...} from the observe port; -1 while the series is absent. */
    private static double callCount(String outcome) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.observePort()
                                    + "/observe/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher series = Pattern.compile("^echo_calls_seconds_count\\{[^}]*outcome=\"" + outcome
                    + "\"[^}]*} ([0-9.eE+-]+)$", Pattern.MULTILINE).matcher(text);
            return series.find() ? Double.parseDouble(series.group(1)) : -1;
        }
    }

    private static EchoReply call(IssuedSvid svid, String message) throws Exception {
        BundleSource<X509Bundle> bundles = trustDomain -> new X509Bundle(trustDomain, new HashSet<>(api.bundle()));
        SslContextBuilder tls = SslContextBuilder.forClient()
                .trustManager(new SpiffeTrustManager(bundles, () -> Set.of(SpiffeId.parse(SERVER_ID))))
                .protocols("TLSv1.3");
        if (svid != null) {
            tls.keyManager(svid.privateKey(), svid.chain());
        }
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
                .sslContext(GrpcSslContexts.configure(tls, SslProvider.JDK).build())
                .build();
        try {
            return EchoGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(5, TimeUnit.SECONDS)
                    .echo(EchoRequest.newBuilder().setMessage(message).build());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
