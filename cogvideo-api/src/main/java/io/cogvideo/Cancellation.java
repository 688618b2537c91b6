package io.cogvideo;

/**
 * A cancellation flag for a running generation. Thread-safe: call {@link #cancel()} from any thread; the generating
 * thread checks it before every token and stops with a {@link GenerationCancelledException} within one step.
 * Interrupting the generating thread has the same effect.
 */
public final class Cancellation {
    private volatile boolean cancelled;
    /** A flag this one follows (the caller's, for the generator's private flag of one run), or {@code null}. */
    private final Cancellation parent;

    /** A flag that is not yet cancelled; pass it to a request and keep it to cancel from another thread. */
    public Cancellation() {
        this(null);
    }

    /** A flag that is also cancelled when {@code parent} is (the generator's own flag for one run). */
    Cancellation(Cancellation parent) {
        this.parent = parent;
    }

    /** Requests cancellation. Idempotent. */
    public void cancel() {
        cancelled = true;
    }

    /** Whether {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled || parent != null && parent.isCancelled();
    }

    /** Whether this flag itself was cancelled (not only its parent). */
    boolean cancelledHere() {
        return cancelled;
    }
}
