package dev.echochain.devworkload;

/**
 * A command line the dev Workload API cannot run with; the message names the option and the form it expects.
 */
public final class CliException extends Exception {

    /**
     * Creates the exception.
     *
     * @param message what is wrong, naming the option and the expected form
     */
    public CliException(String message) {
        super(message);
    }
}
