package io.cogvideo.training;

import java.nio.file.Path;

/** Receives {@link Trainer} progress on the training thread; keep the callbacks short. */
public interface TrainingListener {
    /** A listener that ignores everything. */
    TrainingListener NONE = new TrainingListener() {
    };

    /** After every update. */
    default void onStep(TrainingProgress progress) {
    }

    /** After every held-out evaluation. */
    default void onEvaluation(long step, double evalLoss) {
    }

    /** After a checkpoint folder was written. */
    default void onCheckpoint(long step, Path checkpointDir) {
    }
}
