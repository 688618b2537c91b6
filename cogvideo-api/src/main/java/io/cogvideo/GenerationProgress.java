package io.cogvideo;

import java.time.Duration;

/**
 * Where a generation stands.
 *
 * @param stage   the running stage
 * @param step    steps done in this stage (tokens for the transformer stages, frames for decoding)
 * @param total   steps of this stage
 * @param elapsed time since the stage started
 */
public record GenerationProgress(GenerationStage stage, int step, int total, Duration elapsed) {

    /** Fraction of the stage done, in [0, 1]. */
    public double fraction() {
        return total == 0 ? 1.0 : (double) step / total;
    }
}
