package io.cogvideo.training.vq;

/**
 * What one step of a {@link VqVaeTrainer} did.
 *
 * @param step              1-based step number
 * @param loss              reconstruction MSE plus {@code beta} times the commitment MSE (normalised pixels)
 * @param reconstructionMse MSE of the reconstruction on normalised pixels
 * @param codesUsed         codebook entries chosen at least once in the last {@code restartEvery} steps (100 when
 *                          restarts are off)
 * @param perplexity        {@code exp(entropy)} of the codes this step's batch used
 * @param seconds           wall time of the step
 */
public record VqTrainingProgress(int step, double loss, double reconstructionMse, int codesUsed, double perplexity,
        double seconds) {
}
