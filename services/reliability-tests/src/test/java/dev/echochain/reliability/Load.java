package dev.echochain.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A small closed-loop load: a few platform threads each send one request after another until stopped, and every
 * outcome goes into a {@link Tally}. Bounded by its thread count, so it never floods a 2-core machine.
 */
final class Load {

    /** One request; returns {@code null} when it succeeded, or what went wrong. */
    @FunctionalInterface
    interface Request {
        String send() throws Exception;
    }

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> workers = new ArrayList<>();

    private Load(int threads, Request request, Tally tally) {
        for (int i = 0; i < threads; i++) {
            workers.add(Thread.ofPlatform().name("load-" + i).daemon().start(() -> {
                while (running.get()) {
                    String failure;
                    try {
                        failure = request.send();
                    } catch (Exception e) {
                        failure = e.toString();
                    }
                    tally.request(failure == null, failure);
                }
            }));
        }
    }

    static Load start(int threads, Request request, Tally tally) {
        return new Load(threads, request, tally);
    }

    /** Stops sending and waits for the requests in flight. */
    void stop() throws InterruptedException {
        running.set(false);
        for (Thread worker : workers) {
            worker.join(15_000);
        }
    }
}
