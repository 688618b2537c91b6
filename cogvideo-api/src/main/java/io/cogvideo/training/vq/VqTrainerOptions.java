package io.cogvideo.training.vq;

/**
 * Hyper-parameters of a {@link VqVaeTrainer} run.
 *
 * @param steps              optimizer steps, at least 1
 * @param batch              images per step, at least 1
 * @param crop               side of the square random crop trained on (a multiple of the compress rate, at most the
 *                           image size; the model is convolutional, so it then runs on whole images)
 * @param lr                 peak AdamW learning rate (linear warm-up over {@code warmupSteps}, then cosine to 10%)
 * @param warmupSteps        warm-up steps, {@code >= 0}
 * @param beta               commitment loss weight (icetk and the VQ-VAE paper: 0.25)
 * @param emaDecay           codebook EMA decay in (0, 1) (icetk's VectorQuantizeEMA: 0.99)
 * @param restartEvery       dead-code restart interval in steps ({@code 0}: never)
 * @param seed               seed of initialisation, image draws and crops
 * @param checkpointInterval steps between resumable checkpoints ({@code 0}: only at the end)
 */
public record VqTrainerOptions(int steps, int batch, int crop, double lr, int warmupSteps, double beta,
        double emaDecay, int restartEvery, long seed, int checkpointInterval) {

    public VqTrainerOptions {
        if (steps < 1) {
            throw new IllegalArgumentException("steps = " + steps + "; allowed: >= 1");
        }
        if (batch < 1 || batch > 1024) {
            throw new IllegalArgumentException("batch = " + batch + "; allowed: 1..1024");
        }
        if (crop < 8) {
            throw new IllegalArgumentException("crop = " + crop + "; allowed: >= 8 (a multiple of the compress rate)");
        }
        if (!(lr > 0) || lr > 1) {
            throw new IllegalArgumentException("lr = " + lr + "; allowed: (0, 1]");
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmupSteps = " + warmupSteps + "; allowed: >= 0");
        }
        if (!(beta >= 0) || beta > 10) {
            throw new IllegalArgumentException("beta = " + beta + "; allowed: [0, 10]");
        }
        if (!(emaDecay > 0 && emaDecay < 1)) {
            throw new IllegalArgumentException("emaDecay = " + emaDecay + "; allowed: (0, 1)");
        }
        if (restartEvery < 0) {
            throw new IllegalArgumentException("restartEvery = " + restartEvery + "; allowed: >= 0");
        }
        if (checkpointInterval < 0) {
            throw new IllegalArgumentException("checkpointInterval = " + checkpointInterval + "; allowed: >= 0");
        }
    }

    /** The same options with another step count. */
    public VqTrainerOptions withSteps(int newSteps) {
        return new VqTrainerOptions(newSteps, batch, crop, lr, warmupSteps, beta, emaDecay, restartEvery, seed,
                checkpointInterval);
    }

    /** The same options with another checkpoint interval. */
    public VqTrainerOptions withCheckpointInterval(int interval) {
        return new VqTrainerOptions(steps, batch, crop, lr, warmupSteps, beta, emaDecay, restartEvery, seed, interval);
    }

    /** The learning rate of 1-based step {@code t}. */
    public double lrAt(int t) {
        if (t <= warmupSteps) {
            return lr * t / (warmupSteps + 1);
        }
        double progress = (double) (t - warmupSteps) / Math.max(1, steps - warmupSteps);
        return lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
    }
}
