package io.cogvideo;

/**
 * Receives progress from the generating thread, once per generated token (and per decoded frame). Keep it cheap:
 * it runs on the hot path. Throwing from it aborts the generation with that exception.
 */
@FunctionalInterface
public interface GenerationListener {
    /** Called after each step. */
    void onProgress(GenerationProgress progress);

    /** A listener that does nothing. */
    GenerationListener NONE = p -> { };
}
