package io.cogvideo;

/**
 * A generation stopped by {@link Cancellation#cancel()} or by interrupting its thread. Carries what was finished:
 * the frames of the last completed stage, if any.
 */
public final class GenerationCancelledException extends CogVideoException {
    private static final long serialVersionUID = 1L;

    private final transient Video partial;

    public GenerationCancelledException(String message, Video partial) {
        super(message);
        this.partial = partial;
    }

    /**
     * The frames of the last completed stage, or {@code null} if no stage completed. Tokens only: decode them with
     * {@link VideoGenerator#decode} while the generator is open.
     */
    public Video partial() {
        return partial;
    }
}
