package io.cogvideo.spi;

/** How an uploaded weight will be used, so a backend can lay it out once at load time. */
public enum WeightUse {
    /** Only ever the {@code weight} argument of {@link Backend#linear}. */
    LINEAR,
    /** Anything else: embedding tables, biases, norms, convolution kernels, codebooks. */
    GENERAL
}
