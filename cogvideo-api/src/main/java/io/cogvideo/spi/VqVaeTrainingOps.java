package io.cogvideo.spi;

/**
 * The training op pack of the VQ-VAE image tokenizer: the backward of every {@link VqVaeOps} operation that icetk's
 * encoder and decoder use. Forward passes run through {@link VqVaeOps}; each method below takes what its forward saw
 * and the gradient of its output, and returns new tensors. The quantiser's straight-through estimator, the
 * commitment loss and the codebook's EMA update are element-wise host arithmetic on small tensors and belong to the
 * trainer, not to this pack.
 *
 * <p>Feature maps are NCHW float32 tensors as in {@link VqVaeOps}. Like every pack it assumes well-formed inputs:
 * {@link CheckedBackend} validates them first.
 */
public interface VqVaeTrainingOps extends OpPack {

    /**
     * Gradients of a convolution.
     *
     * @param dX      [N, C, H, W] like the forward input, or {@code null} when not asked for
     * @param dWeight [O, C, kh, kw]
     * @param dBias   [O], or {@code null} when the layer has no bias
     */
    record Conv2dGrads(Tensor dX, Tensor dWeight, Tensor dBias) {
    }

    /** Gradients of a group normalisation: {@code dX} like x, {@code dGamma} and {@code dBeta} [C]. */
    record GroupNormGrads(Tensor dX, Tensor dGamma, Tensor dBeta) {
    }

    /** Gradients of {@link VqVaeOps#spatialAttention} with respect to q, k and v (their shapes). */
    record SpatialAttentionGrads(Tensor dQ, Tensor dK, Tensor dV) {
    }

    /**
     * Backward of {@link VqVaeOps#conv2d} with the same stride and padding: {@code dX} is the transposed
     * convolution of {@code dY}, {@code dWeight} the correlation of the input with {@code dY} summed over the batch,
     * {@code dBias} the sum of {@code dY} over batch and positions.
     *
     * @param x         [N, C, H, W] the forward input
     * @param weight    [O, C, kh, kw]
     * @param dY        [N, O, Ho, Wo] the gradient of the forward output
     * @param inputGrad whether to compute {@code dX} (false for the first layer)
     * @param hasBias   whether the layer has a bias (then {@code dBias} is computed)
     */
    Conv2dGrads conv2dBackward(Tensor x, Tensor weight, Tensor dY, int stride, int padTop, int padBottom,
            int padLeft, int padRight, boolean inputGrad, boolean hasBias);

    /**
     * Backward of {@link VqVaeOps#groupNorm} (statistics recomputed from {@code x}; {@code beta} is not needed).
     *
     * @param x     [N, C, H, W] the forward input
     * @param gamma [C]
     * @param dY    [N, C, H, W]
     */
    GroupNormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, Tensor dY, float eps);

    /** Backward of {@link VqVaeOps#swish}: {@code dY * (s + x * s * (1 - s))} with {@code s = sigmoid(x)}. */
    Tensor swishBackward(Tensor x, Tensor dY);

    /**
     * Backward of {@link VqVaeOps#upsampleNearest2x}: each input position receives the sum of its 2x2 output block.
     *
     * @param dY [N, C, 2H, 2W]
     * @return [N, C, H, W]
     */
    Tensor upsampleNearest2xBackward(Tensor dY);

    /**
     * Backward of {@link VqVaeOps#avgPool2x2}: each input position of a pooled 2x2 block receives a quarter of its
     * gradient; a trailing odd row or column that the forward dropped receives 0.
     *
     * @param dY     [N, C, H / 2, W / 2]
     * @param height H of the forward input
     * @param width  W of the forward input
     * @return [N, C, H, W]
     */
    Tensor avgPool2x2Backward(Tensor dY, int height, int width);

    /**
     * Backward of {@link VqVaeOps#spatialAttention}, recomputing the probabilities from q and k.
     *
     * @param q    [N, C, H, W]
     * @param k    [N, C, H, W]
     * @param v    [N, C, H, W]
     * @param dOut [N, C, H, W]
     */
    SpatialAttentionGrads spatialAttentionBackward(Tensor q, Tensor k, Tensor v, Tensor dOut);
}
