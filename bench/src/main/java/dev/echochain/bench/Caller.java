package dev.echochain.bench;

/** One system under test as the load generator sees it: an asynchronous, validated request. */
interface Caller extends AutoCloseable {

    /** The outcome of one request, reported once, on any thread. */
    @FunctionalInterface
    interface Outcome {
        /**
         * Reports the end of a request.
         *
         * @param valid true only when status, headers and body were all as expected
         * @param error why it was not valid, or null
         */
        void done(boolean valid, String error);
    }

    /**
     * Sends one request.
     *
     * @param outcome called once when the reply has been checked
     */
    void call(Outcome outcome);

    @Override
    void close();
}
