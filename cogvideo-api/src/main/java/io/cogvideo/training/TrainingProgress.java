package io.cogvideo.training;

import java.time.Duration;

/**
 * The state of a run after one update, for progress displays.
 *
 * @param step            updates done (1-based)
 * @param totalSteps      updates of the run
 * @param loss            this update's batch loss
 * @param perFrameLosses  per-frame losses the gradient source reported (may be empty)
 * @param lr              learning rate used by this update
 * @param gradNorm        global gradient norm before clipping
 * @param tokensPerSecond input tokens per second of wall time since this session's first update
 * @param elapsed         wall time since this session's first update
 * @param eta             estimated time to the last update
 * @param lastEvalLoss    the latest held-out loss, NaN before the first evaluation
 */
public record TrainingProgress(long step, long totalSteps, double loss, double[] perFrameLosses, double lr,
        double gradNorm, double tokensPerSecond, Duration elapsed, Duration eta, double lastEvalLoss) {
    public TrainingProgress {
        perFrameLosses = perFrameLosses.clone();
    }

    @Override
    public double[] perFrameLosses() {
        return perFrameLosses.clone();
    }

    /** {@code step / totalSteps}. */
    public double fraction() {
        return totalSteps == 0 ? 1 : (double) step / totalSteps;
    }
}
