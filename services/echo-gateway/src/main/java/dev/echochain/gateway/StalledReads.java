package dev.echochain.gateway;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Ends request-body reads that pass their deadline by interrupting the reading thread, which makes Helidon close the
 * connection.
 *
 * <p>Helidon 4.5 reads request bodies from a blocking NIO channel with no read timeout, so a client that stops
 * sending its body would hold a connection for as long as it likes. One sweep every {@link #SWEEP} checks all reads in
 * progress. A read costs an entry in a concurrent set, not a timer task: scheduling and cancelling a task per request
 * woke the timer thread once per request.
 */
final class StalledReads {

    /** How often reads are checked; a stalled read ends at most this much after its deadline. */
    static final Duration SWEEP = Duration.ofMillis(100);

    private final Set<Read> reads = ConcurrentHashMap.newKeySet();

    StalledReads(String threadName) {
        ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name(threadName).factory());
        sweeper.scheduleWithFixedDelay(this::sweep, SWEEP.toNanos(), SWEEP.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Starts watching a read by the current thread.
     *
     * @param limit how long the read may take
     * @return the read, to be finished in a {@code finally} block
     */
    Read start(Duration limit) {
        Read read = new Read(Thread.currentThread(), System.nanoTime() + limit.toNanos());
        reads.add(read);
        return read;
    }

    private void sweep() {
        long now = System.nanoTime();
        for (Read read : reads) {
            if (now - read.deadline > 0) {
                read.expire();
            }
        }
    }

    /** One body read in progress. */
    final class Read {

        private final Thread reader;
        private final long deadline;
        private boolean done;
        private boolean expired;

        private Read(Thread reader, long deadline) {
            this.reader = reader;
            this.deadline = deadline;
        }

        /*
         * Both run under the same lock, so an interrupt is either delivered before finish() returns, which then
         * clears it, or not at all: it never reaches the thread's later work.
         */
        private synchronized void expire() {
            if (!done && !expired) {
                expired = true;
                reader.interrupt();
            }
        }

        /**
         * Stops watching, and clears the interrupt if the read had expired.
         *
         * @return whether the read passed its deadline and was interrupted
         */
        synchronized boolean finish() {
            done = true;
            reads.remove(this);
            if (expired) {
                Thread.interrupted();
            }
            return expired;
        }
    }
}
