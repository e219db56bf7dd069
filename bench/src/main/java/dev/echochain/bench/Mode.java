package dev.echochain.bench;

import java.time.Duration;
import java.util.List;

/**
 * How long and how often a run measures.
 *
 * @param name            quick or full
 * @param ladder          in-flight requests for the throughput comparisons
 * @param plainLadder     in-flight requests for mTLS against plaintext
 * @param rounds          interleaved rounds per level; each round measures A then B
 * @param window          length of one measuring window
 * @param warmSlice       length of one warm-up slice; systems alternate slices
 * @param warmSlices      warm-up slices per system before anything counts
 * @param handshakeRate   new connections per second, open loop
 * @param handshakeWindow length of one handshake window
 * @param handshakeRounds handshake rounds per server
 * @param startReps       start-up repetitions per service and JVM setting
 * @param loadForRss      load time while resident memory is sampled
 * @param rotations       SVID rotations under load
 * @param rotationGap     pause between rotations
 * @param settle          pause after start before idle memory is read
 * @param training        load time of the run that records the AOT cache
 * @param soakRate        requests per second offered through the gateway during the soak, open loop
 * @param soakWindow      length of one soak window; RSS is read at the end of each
 * @param soakWindows     soak windows, back to back
 */
record Mode(String name, List<Integer> ladder, List<Integer> plainLadder, int rounds, Duration window,
            Duration warmSlice, int warmSlices, double handshakeRate, Duration handshakeWindow, int handshakeRounds,
            int startReps, Duration loadForRss, int rotations, Duration rotationGap,
            Duration settle, Duration training, double soakRate, Duration soakWindow, int soakWindows) {

    /** The same mode with another number of warm-up slices per system. */
    Mode withWarmSlices(int slices) {
        return new Mode(name, ladder, plainLadder, rounds, window, warmSlice, slices, handshakeRate, handshakeWindow,
                handshakeRounds, startReps, loadForRss, rotations, rotationGap, settle, training, soakRate, soakWindow,
                soakWindows);
    }

    static Mode of(String name) {
        return switch (name) {
            case "quick" -> new Mode("quick", List.of(1, 16, 64), List.of(64), 2, Duration.ofMillis(600),
                    Duration.ofMillis(1000), 1, 100, Duration.ofSeconds(1), 1, 1, Duration.ofSeconds(1), 10,
                    Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofMillis(1500), 200,
                    Duration.ofSeconds(2), 4);
            case "full" -> new Mode("full", List.of(1, 4, 16, 64, 256), List.of(16, 64), 3, Duration.ofSeconds(4),
                    Duration.ofSeconds(5), 4, 200, Duration.ofSeconds(8), 3, 2, Duration.ofSeconds(8), 100,
                    Duration.ofMillis(200), Duration.ofSeconds(3), Duration.ofSeconds(10), 1000,
                    Duration.ofSeconds(20), 15);
            default -> throw new IllegalArgumentException("mode must be quick or full, got '" + name + "'");
        };
    }
}
