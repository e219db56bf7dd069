package dev.echochain.devworkload;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.MetadataUtils;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The wire protocol as a plain gRPC client sees it, without java-spiffe's client in between.
 */
class WorkloadApiProtocolTest {

    private static final String SERVER = "spiffe://echo.local/ns/echo/sa/echo-server";

    private Path dir;
    private LocalWorkloadApi api;
    private EpollEventLoopGroup group;
    private ManagedChannel channel;

    @BeforeEach
    void setUp() throws Exception {
        dir = TestDirs.create();
        api = LocalWorkloadApi.builder().build();
        WorkloadEndpoint endpoint = api.addWorkload(SERVER, dir.resolve("s.sock"));
        group = new EpollEventLoopGroup(1);
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(endpoint.socket().toString()))
                .eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class)
                .usePlaintext()
                .build();
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        api.close();
        TestDirs.delete(dir);
    }

    @Test
    @Timeout(20)
    void refusesCallWithoutSecurityHeaderAsInvalidArgument() {
        SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = SpiffeWorkloadAPIGrpc.newBlockingStub(channel);

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> stub.fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance()).next());

        assertThat(e.getStatus().getCode(), is(Status.Code.INVALID_ARGUMENT));
        assertThat(e.getStatus().getDescription(), containsString("workload.spiffe.io: true"));
    }

    @Test
    @Timeout(20)
    void answersWithSvidBundleAndNoFederatedBundles() throws Exception {
        Iterator<Workload.X509SVIDResponse> responses = withHeader()
                .fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance());

        Workload.X509SVIDResponse response = responses.next();

        assertThat(response.getSvidsCount(), is(1));
        assertThat(response.getSvids(0).getSpiffeId(), is(SERVER));
        assertThat(response.getSvids(0).getBundle().toByteArray(), is(api.ca().certificate().getEncoded()));
        assertThat(response.getFederatedBundlesCount(), is(0));
    }

    @Test
    @Timeout(20)
    void answersBundlesKeyedByTrustDomainId() throws Exception {
        Workload.X509BundlesResponse response = withHeader()
                .fetchX509Bundles(Workload.X509BundlesRequest.getDefaultInstance()).next();

        assertThat(response.getBundlesMap().keySet(), is(Set.of("spiffe://echo.local")));
        assertThat(response.getBundlesMap().get("spiffe://echo.local").toByteArray(),
                   is(api.ca().certificate().getEncoded()));
    }

    @Test
    @Timeout(20)
    void answersJwtCallsWithUnimplemented() {
        SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub stub = withHeader();

        StatusRuntimeException fetch = assertThrows(StatusRuntimeException.class, () -> stub.fetchJWTSVID(
                Workload.JWTSVIDRequest.newBuilder().addAudience("echo").build()));
        StatusRuntimeException validate = assertThrows(StatusRuntimeException.class, () -> stub.validateJWTSVID(
                Workload.ValidateJWTSVIDRequest.newBuilder().setAudience("echo").setSvid("x").build()));

        assertThat(fetch.getStatus().getCode(), is(Status.Code.UNIMPLEMENTED));
        assertThat(fetch.getStatus().getDescription(), startsWith("JWT-SVIDs are not served"));
        assertThat(validate.getStatus().getCode(), is(Status.Code.UNIMPLEMENTED));
    }

    private SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIBlockingStub withHeader() {
        Metadata headers = new Metadata();
        headers.put(SecurityHeaderInterceptor.HEADER, "true");
        return SpiffeWorkloadAPIGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
}
