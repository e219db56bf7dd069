package dev.echochain.reliability;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import javax.net.ssl.SSLContext;

import dev.echochain.identity.WorkloadIdentity;
import io.spiffe.spiffeid.TrustDomain;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SVID, bundle and CA rotation while requests keep coming: every request opens a new connection, so every one runs a
 * full mutual-TLS handshake against whatever SVID and bundle the gateway holds at that moment; none may fail.
 */
@Timeout(90)
class RotationUnderLoadTest {

    private static final Tally TALLY = new Tally(RotationUnderLoadTest.class);
    private static final byte[] BODY = "{\"message\": \"rotating\"}".getBytes(StandardCharsets.UTF_8);
    private static final int THREADS = 6;

    @AfterAll
    static void publish() {
        TALLY.publish();
    }

    @Test
    void svidAndBundleRotationUnderLoadFailsNoRequest() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults())) {
            AtomicReference<SSLContext> caller = new AtomicReference<>(chain.caller(TestChain.EXTERNAL_ID));
            warmUp(chain, caller.get());
            long before = TALLY.requests();
            long lostBefore = TALLY.lost();
            long rotations = chain.gatewayIdentity.rotations();
            Load load = Load.start(THREADS, () -> echo(chain, caller.get()), TALLY);
            try {
                for (int i = 0; i < 12; i++) {
                    Thread.sleep(250);
                    chain.api.rotateSvids();
                    TALLY.fault("svid-rotation");
                    if (i % 4 == 3) {
                        // callers rotate too
                        caller.set(chain.caller(TestChain.EXTERNAL_ID));
                    }
                }
                Thread.sleep(250);
            } finally {
                load.stop();
            }

            assertThat("failed requests: " + TALLY.lostSamples(), TALLY.lost() - lostBefore, is(0L));
            assertThat("requests during the rotations", TALLY.requests() - before, greaterThan(30L));
            assertThat(chain.gatewayIdentity.rotations() - rotations, is(12L));
        }
    }

    @Test
    void caRolloverWithOverlappingBundlesUnderLoadFailsNoRequest() throws Exception {
        try (TestChain chain = TestChain.start(TestChain.Setup.defaults())) {
            AtomicReference<SSLContext> caller = new AtomicReference<>(chain.caller(TestChain.EXTERNAL_ID));
            warmUp(chain, caller.get());
            long before = TALLY.requests();
            long lostBefore = TALLY.lost();
            BigInteger oldSerial = chain.gatewayIdentity.getX509Svid().getLeaf().getSerialNumber();
            Load load = Load.start(THREADS, () -> echo(chain, caller.get()), TALLY);
            try {
                Thread.sleep(500);

                chain.api.rotateCa();
                TALLY.fault("ca-rollover-start");
                await(() -> !chain.gatewayIdentity.getX509Svid().getLeaf().getSerialNumber().equals(oldSerial)
                        && bundleSize(chain.gatewayIdentity) == 2 && bundleSize(chain.serverIdentity) == 2);
                Thread.sleep(700);
                // the callers move to the new CA during the overlap, as SPIRE's agents do
                caller.set(chain.caller(TestChain.EXTERNAL_ID));
                Thread.sleep(700);

                chain.api.retireOldCa();
                TALLY.fault("ca-rollover-retire");
                await(() -> bundleSize(chain.gatewayIdentity) == 1 && bundleSize(chain.serverIdentity) == 1);
                Thread.sleep(700);
            } finally {
                load.stop();
            }

            assertThat("failed requests: " + TALLY.lostSamples(), TALLY.lost() - lostBefore, is(0L));
            assertThat("requests during the rollover", TALLY.requests() - before, greaterThan(30L));
            assertThat("the gateway presents an SVID of the new CA",
                    chain.gatewayIdentity.getX509Svid().getLeaf().getIssuerX500Principal(),
                    is(chain.api.ca().certificate().getSubjectX500Principal()));
        }
    }

    /*
     * The gateway's one connection to echo-server is opened before the rotation starts. The local Workload API
     * rotates a CA by pushing new SVIDs and the new bundle to each workload in turn, so an upstream connection that is
     * first opened in the milliseconds between echo-server's push and the gateway's would meet an SVID of a CA the
     * gateway does not know yet; SPIRE publishes a new CA in the bundle well before it signs with it.
     */
    private static void warmUp(TestChain chain, SSLContext caller) throws Exception {
        assertThat(echo(chain, caller), is((String) null));
    }

    private static String echo(TestChain chain, SSLContext caller) throws Exception {
        try (RawHttps http = chain.raw(caller)) {
            RawHttps.Reply reply = http.postEcho(BODY);
            return reply.status() == 200 ? null : reply.status() + " " + reply.body();
        }
    }

    private static int bundleSize(WorkloadIdentity identity) {
        try {
            return identity.getBundleForTrustDomain(TrustDomain.parse("echo.local")).getX509Authorities().size();
        } catch (io.spiffe.exception.BundleNotFoundException e) {
            return 0;
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long start = System.nanoTime();
        while (!condition.getAsBoolean()) {
            assertThat("the Workload API's push arrived within 5 s", System.nanoTime() - start,
                    lessThan(Duration.ofSeconds(5).toNanos()));
            Thread.sleep(10);
        }
    }
}
