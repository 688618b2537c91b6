package io.cogvideo.training;

import io.cogvideo.CogVideoException;

/**
 * Warmup then decay, as SwissArmyTransformer's {@code AnnealingLR} (the original's {@code --lr-decay-style cosine},
 * {@code --warmup} fraction and {@code --lr-decay-ratio}). For the 1-based update {@code t}:
 *
 * <pre>
 * t &lt;= warmupSteps           : peak * t / warmupSteps
 * cosine                      : r = min(1, (t - warmupSteps) / totalSteps)
 *                               peak * (minRatio + (1 - minRatio) * (cos(pi * r) + 1) / 2)
 * linear                      : peak * (totalSteps - (t - warmupSteps)) / totalSteps
 * constant                    : peak
 * </pre>
 *
 * Like {@code AnnealingLR}, the decay runs over {@code totalSteps} (not {@code totalSteps - warmupSteps}). Two
 * deliberate differences: the first update uses {@code t = 1} (AnnealingLR evaluates {@code t - 1}, so its first update
 * has rate 0 once its auto-warmup is off), and SAT's 50-step "auto warmup" at 5% of the rate is not reproduced.
 *
 * @param peakLr      the rate after warmup, {@code > 0}
 * @param warmupSteps warmup updates, in [0, totalSteps]
 * @param totalSteps  updates of the run, {@code >= 1}
 * @param decay       decay style
 * @param minRatio    cosine floor as a fraction of the peak (SAT's {@code --lr-decay-ratio}, default 0.1), in [0, 1]
 */
public record LearningRateSchedule(double peakLr, long warmupSteps, long totalSteps, Decay decay, double minRatio) {

    /** Decay styles of {@code AnnealingLR}. */
    public enum Decay { COSINE, LINEAR, CONSTANT }

    /** SAT's default {@code --lr-decay-ratio}. */
    public static final double DEFAULT_MIN_RATIO = 0.1;
    /** The original's {@code --warmup .001}. */
    public static final double ORIGINAL_WARMUP_FRACTION = 0.001;

    public LearningRateSchedule {
        AdamWOptions.check(peakLr > 0 && Double.isFinite(peakLr), "peak learning rate", peakLr, "> 0");
        if (totalSteps < 1) {
            throw new CogVideoException("schedule: totalSteps = " + totalSteps + " is invalid; allowed: >= 1");
        }
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new CogVideoException("schedule: warmupSteps = " + warmupSteps + " is invalid; allowed: [0, "
                    + totalSteps + "]");
        }
        java.util.Objects.requireNonNull(decay, "decay");
        if (!(minRatio >= 0 && minRatio <= 1)) {
            throw new CogVideoException("schedule: minRatio = " + minRatio + " is invalid; allowed: [0, 1]");
        }
    }

    /** Cosine decay after a warmup of {@code floor(warmupFraction * totalSteps)} updates (SAT's rounding). */
    public static LearningRateSchedule cosine(double peakLr, double warmupFraction, long totalSteps) {
        return new LearningRateSchedule(peakLr, warmupSteps(warmupFraction, totalSteps), totalSteps, Decay.COSINE,
                DEFAULT_MIN_RATIO);
    }

    /** A constant rate. */
    public static LearningRateSchedule constant(double lr, long totalSteps) {
        return new LearningRateSchedule(lr, 0, totalSteps, Decay.CONSTANT, 1);
    }

    /** {@code floor(fraction * totalSteps)} after checking the fraction is in [0, 1]. */
    public static long warmupSteps(double fraction, long totalSteps) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new CogVideoException("schedule: warmup fraction = " + fraction + " is invalid; allowed: [0, 1]");
        }
        return (long) Math.floor(fraction * totalSteps);
    }

    /** The rate of the 1-based update {@code t}. */
    public double lr(long t) {
        if (t < 1) {
            throw new CogVideoException("schedule: step " + t + " is invalid; allowed: >= 1");
        }
        if (warmupSteps > 0 && t <= warmupSteps) {
            return peakLr * t / warmupSteps;
        }
        return switch (decay) {
            case CONSTANT -> peakLr;
            case LINEAR -> peakLr * Math.max(0.0, (double) (totalSteps - (t - warmupSteps)) / totalSteps);
            case COSINE -> {
                double r = Math.min(1.0, (double) (t - warmupSteps) / totalSteps);
                yield peakLr * (minRatio + (1 - minRatio) * (Math.cos(Math.PI * r) + 1) / 2);
            }
        };
    }
}
