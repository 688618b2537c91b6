package io.cogvideo.training;

import io.cogvideo.CogVideoException;

/**
 * Hyper-parameters of {@link AdamW}. {@link #ORIGINAL} holds CogVideo's training values
 * ({@code ds_config_zero.json}: lr 2e-4, betas 0.9 / 0.95, eps 1e-8, weight decay 1e-4).
 *
 * @param lr          peak learning rate (the schedule scales it per step), {@code > 0}
 * @param beta1       first-moment decay, in [0, 1)
 * @param beta2       second-moment decay, in [0, 1)
 * @param eps         denominator epsilon, {@code > 0}
 * @param weightDecay decoupled weight decay (as {@code torch.optim.AdamW}), {@code >= 0}
 */
public record AdamWOptions(double lr, double beta1, double beta2, double eps, double weightDecay) {
    /** The original's optimizer settings. */
    public static final AdamWOptions ORIGINAL = new AdamWOptions(2e-4, 0.9, 0.95, 1e-8, 1e-4);

    public AdamWOptions {
        check(lr > 0 && Double.isFinite(lr), "lr", lr, "> 0");
        check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "[0, 1)");
        check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "[0, 1)");
        check(eps > 0 && Double.isFinite(eps), "eps", eps, "> 0");
        check(weightDecay >= 0 && Double.isFinite(weightDecay), "weight decay", weightDecay, ">= 0");
    }

    /** A copy with another peak learning rate. */
    public AdamWOptions withLr(double newLr) {
        return new AdamWOptions(newLr, beta1, beta2, eps, weightDecay);
    }

    /** A copy with another weight decay. */
    public AdamWOptions withWeightDecay(double wd) {
        return new AdamWOptions(lr, beta1, beta2, eps, wd);
    }

    static void check(boolean ok, String what, double value, String allowed) {
        if (!ok) {
            throw new CogVideoException("AdamW: " + what + " = " + value + " is invalid; allowed: " + allowed);
        }
    }
}
