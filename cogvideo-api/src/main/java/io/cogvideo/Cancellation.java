package io.cogvideo;

/**
 * A cancellation flag for a running generation. Thread-safe: call {@link #cancel()} from any thread; the generating
 * thread checks it before every token and stops with a {@link GenerationCancelledException} within one step.
 * Interrupting the generating thread has the same effect.
 */
public final class Cancellation {
    private volatile boolean cancelled;

    /** A flag that is not yet cancelled; pass it to a request and keep it to cancel from another thread. */
    public Cancellation() {
    }

    /** Requests cancellation. Idempotent. */
    public void cancel() {
        cancelled = true;
    }

    /** Whether {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled;
    }
}
