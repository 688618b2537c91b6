package io.cogvideo.training.vq;

/** Receives the progress of a {@link VqVaeTrainer} after every step (on the training thread). */
@FunctionalInterface
public interface VqTrainingListener {
    /** Called after each optimizer step. */
    void onStep(VqTrainingProgress progress);
}
