package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything that configures a {@link Trainer}. Immutable; start from {@link #defaults(Path)} (the paper's recipe and
 * the original's optimizer settings) and change fields with the {@code with...} methods.
 *
 * @param stage              0 (image model, {@link TrainingExample#IMAGE_MODE}), 1 (key frames) or 2
 *                           (interpolation): which loss mask the data builds (recorded for resume)
 * @param steps              optimizer updates of the whole run, {@code >= 1} (the schedule spans them)
 * @param batchSize          examples per update, {@code >= 1}
 * @param optimizer          AdamW settings ({@link AdamWOptions#ORIGINAL})
 * @param warmupFraction     warmup updates as a fraction of {@code steps} (the original's {@code --warmup .001})
 * @param decay              learning-rate decay after warmup (cosine)
 * @param minLrRatio         cosine floor as a fraction of the peak rate (0.1)
 * @param clipNorm           global gradient-norm clip (the original's 0.1); {@code <= 0} disables
 * @param seed               seeds data order, held-out split and clip sampling
 * @param trainEverything    train every parameter instead of the recipe's trainable set (pretraining the image model)
 * @param evalFraction       fraction of the examples held out for evaluation, in [0, 0.5]; 0 disables evaluation
 * @param evalInterval       evaluate every this many updates (and after the last), {@code >= 1}
 * @param checkpointInterval write a checkpoint every this many updates (and after the last); 0 only after the last
 * @param outputDir          where checkpoints, {@code loss.csv} and {@code loss.png} go
 */
public record TrainerOptions(
        int stage,
        long steps,
        int batchSize,
        AdamWOptions optimizer,
        double warmupFraction,
        LearningRateSchedule.Decay decay,
        double minLrRatio,
        double clipNorm,
        long seed,
        boolean trainEverything,
        double evalFraction,
        long evalInterval,
        long checkpointInterval,
        Path outputDir) {

    /** The original clips the global gradient norm at 0.1. */
    public static final double ORIGINAL_CLIP_NORM = 0.1;

    public TrainerOptions {
        if (stage != TrainingExample.IMAGE_MODE && stage != 1 && stage != 2) {
            throw invalid("stage", stage, "0 (image model), 1 or 2");
        }
        if (steps < 1) {
            throw invalid("steps", steps, ">= 1");
        }
        if (batchSize < 1) {
            throw invalid("batch size", batchSize, ">= 1");
        }
        Objects.requireNonNull(optimizer, "optimizer");
        if (!(warmupFraction >= 0 && warmupFraction <= 1)) {
            throw invalid("warmup fraction", warmupFraction, "[0, 1]");
        }
        Objects.requireNonNull(decay, "decay");
        if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
            throw invalid("min lr ratio", minLrRatio, "[0, 1]");
        }
        if (Double.isNaN(clipNorm)) {
            throw invalid("clip norm", clipNorm, "a number (<= 0 disables clipping)");
        }
        if (!(evalFraction >= 0 && evalFraction <= 0.5)) {
            throw invalid("eval fraction", evalFraction, "[0, 0.5]");
        }
        if (evalInterval < 1) {
            throw invalid("eval interval", evalInterval, ">= 1");
        }
        if (checkpointInterval < 0) {
            throw invalid("checkpoint interval", checkpointInterval, ">= 0 (0: only at the end)");
        }
        Objects.requireNonNull(outputDir, "outputDir");
    }

    private static CogVideoException invalid(String what, Object value, String allowed) {
        return new CogVideoException("trainer options: " + what + " = " + value + " is invalid; allowed: " + allowed);
    }

    /**
     * The paper's recipe: stage 1, the recipe's trainable set, AdamW lr 2e-4 / 0.9 / 0.95 / 1e-8 / wd 1e-4, clip 0.1,
     * warmup 0.1% then cosine to 10%; 1000 updates of batch 1, seed 1234, 5% held out and evaluated every 100 updates,
     * a checkpoint every 500 updates.
     */
    public static TrainerOptions defaults(Path outputDir) {
        return new TrainerOptions(1, 1000, 1, AdamWOptions.ORIGINAL, LearningRateSchedule.ORIGINAL_WARMUP_FRACTION,
                LearningRateSchedule.Decay.COSINE, LearningRateSchedule.DEFAULT_MIN_RATIO, ORIGINAL_CLIP_NORM, 1234,
                false, 0.05, 100, 500, outputDir);
    }

    /** The learning-rate schedule these options give. */
    public LearningRateSchedule schedule() {
        return new LearningRateSchedule(optimizer.lr(), LearningRateSchedule.warmupSteps(warmupFraction, steps), steps,
                decay, decay == LearningRateSchedule.Decay.CONSTANT ? 1 : minLrRatio);
    }

    public TrainerOptions withStage(int v) {
        return new TrainerOptions(v, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withSteps(long v) {
        return new TrainerOptions(stage, v, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withBatchSize(int v) {
        return new TrainerOptions(stage, steps, v, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withOptimizer(AdamWOptions v) {
        return new TrainerOptions(stage, steps, batchSize, v, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withLr(double lr) {
        return withOptimizer(optimizer.withLr(lr));
    }

    public TrainerOptions withSchedule(double warmup, LearningRateSchedule.Decay d, double minRatio) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmup, d, minRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withClipNorm(double v) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, v, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withSeed(long v) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, v,
                trainEverything, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withTrainEverything(boolean v) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                v, evalFraction, evalInterval, checkpointInterval, outputDir);
    }

    public TrainerOptions withEvaluation(double fraction, long interval) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, fraction, interval, checkpointInterval, outputDir);
    }

    public TrainerOptions withCheckpointInterval(long v) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, v, outputDir);
    }

    public TrainerOptions withOutputDir(Path v) {
        return new TrainerOptions(stage, steps, batchSize, optimizer, warmupFraction, decay, minLrRatio, clipNorm, seed,
                trainEverything, evalFraction, evalInterval, checkpointInterval, v);
    }
}
