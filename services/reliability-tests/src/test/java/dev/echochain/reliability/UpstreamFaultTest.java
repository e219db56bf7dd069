package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * echo-server failing under the gateway: down, then back; slow beyond the deadline. The gateway answers quickly with
 * a fitting status, stays bounded, and recovers by itself.
 */
@Timeout(90)
class UpstreamFaultTest {

    private static final Tally TALLY = new Tally(UpstreamFaultTest.class);
    private static final String BODY = "{\"message\": \"are you there?\"}";

    @AfterAll
    static void publish() {
        TALLY.publish();
    }

    @Test
    void echoServerDownGets503InUnderOneSecondAndTheGatewayRecoversByItself() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults())) {
            HttpClient client = chain.httpClient(chain.caller(TestChain.EXTERNAL_ID));
            assertThat(TestChain.post(client, chain.echoUri(), BODY).statusCode(), is(200));

            chain.stopServer();
            TALLY.fault("echo-server-down");
            long slowest503 = 0;
            for (int i = 0; i < 20; i++) {
                long start = System.nanoTime();
                HttpResponse<String> response = TestChain.post(client, chain.echoUri(), BODY);
                long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();

                assertThat(response.body(), response.statusCode(), is(503));
                assertThat(response.body(), containsString("echo-server is unavailable"));
                slowest503 = Math.max(slowest503, millis);
                assertThat("milliseconds to answer 503", millis, lessThan(1000L));
            }

            TALLY.measured("slowest_503_ms", slowest503);
            chain.restartServer();
            long start = System.nanoTime();
            int status = 0;
            while (status != 200) {
                assertThat("recovered within 3 s of echo-server's return", System.nanoTime() - start,
                        lessThan(Duration.ofSeconds(3).toNanos()));
                status = TestChain.post(client, chain.echoUri(), BODY).statusCode();
                Thread.sleep(50);
            }
            TALLY.measured("recovered_after_restart_ms", Duration.ofNanos(System.nanoTime() - start).toMillis());
            for (int i = 0; i < 50; i++) {
                HttpResponse<String> response = TestChain.post(client, chain.echoUri(), BODY);
                TALLY.request(response.statusCode() == 200, response.body());
            }
            assertThat("requests lost after recovery", TALLY.lost(), is(0L));
        }
    }

    @Test
    void slowEchoServerGets504AtTheDeadlineWithThreadsAndMemoryBounded() throws Exception {
        Duration deadline = Duration.ofMillis(300);
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults().deadline(deadline).withFaultLink())) {
            HttpClient client = chain.httpClient(chain.caller(TestChain.EXTERNAL_ID));
            // the first call also opens the connection to echo-server, which may take longer than the short deadline
            awaitOk(client, chain);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            System.gc();
            long heapBefore = memory.getHeapMemoryUsage().getUsed();
            int threadsBefore = threads.getThreadCount();
            threads.resetPeakThreadCount();

            chain.link.delayReplies(2000);
            TALLY.fault("echo-server-slow");
            ExecutorService load = Executors.newFixedThreadPool(8);
            List<Future<Long>> calls = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                calls.add(load.submit(() -> {
                    long start = System.nanoTime();
                    HttpResponse<String> response = TestChain.post(client, chain.echoUri(), BODY);
                    assertThat(response.body(), response.statusCode(), is(504));
                    assertThat(response.body(), containsString("deadline"));
                    return Duration.ofNanos(System.nanoTime() - start).toMillis();
                }));
            }
            long slowest = 0;
            for (Future<Long> call : calls) {
                slowest = Math.max(slowest, call.get());
            }
            load.shutdown();
            int peakThreads = threads.getPeakThreadCount();
            System.gc();
            long heapGrowth = memory.getHeapMemoryUsage().getUsed() - heapBefore;

            TALLY.measured("slowest_504_ms", slowest);
            TALLY.measured("platform_threads_added", peakThreads - threadsBefore);
            TALLY.measured("heap_growth_mib", heapGrowth / (1024 * 1024));
            assertThat("slowest 504, in ms", slowest, lessThan(deadline.toMillis() + 1200));
            assertThat("platform threads added while 200 calls timed out", peakThreads - threadsBefore,
                    lessThan(40));
            assertThat("heap growth in MiB after 200 timed-out calls", heapGrowth / (1024 * 1024), lessThan(64L));

            chain.link.delayReplies(0);
            awaitOk(client, chain);
            assertThat(chain.gatewayAnswers(504), greaterThan(199.0));
        }
    }

    private static void awaitOk(HttpClient client, TestChain chain) throws Exception {
        long start = System.nanoTime();
        while (TestChain.post(client, chain.echoUri(), BODY).statusCode() != 200) {
            assertThat("an answer within 5 s", System.nanoTime() - start, lessThan(Duration.ofSeconds(5).toNanos()));
            Thread.sleep(100);
        }
    }
}
