package io.cogvideo.training.vq;

/**
 * The images a {@link VqVaeTrainer} learns from: a source of RGB pictures of one fixed size, each drawn from an index
 * and a seed (a renderer of a synthetic world may use the seed to place its shapes; a fixed set may ignore it).
 */
public interface VqTrainingImages {

    /** Number of distinct image indexes, at least 1. */
    int size();

    /** Image height in pixels. */
    int height();

    /** Image width in pixels. */
    int width();

    /**
     * One image.
     *
     * @param index in {@code [0, size())}
     * @param seed  a per-draw seed (the same index and seed must give the same image)
     * @return RGB planar [3, H, W], values in [0, 1]
     */
    float[] image(int index, long seed);
}
