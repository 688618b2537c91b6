package io.cogvideo.spi;

/**
 * The operations of icetk's VQ-VAE image tokenizer (encoder, quantiser, decoder). Feature maps are NCHW float
 * tensors: [batch, channels, height, width], row-major. Implemented by the CPU backend (OpenBLAS) and by
 * {@code ReferenceBackend}.
 */
public interface VqVaeOps extends OpPack {

    /**
     * 2-D convolution (cross-correlation, as {@code torch.nn.functional.conv2d}) with zero padding given per side,
     * so that the asymmetric padding {@code F.pad(x, (0, 1, 0, 1))} of a strided down-sampling conv is one call.
     *
     * @param x         [N, C, H, W]
     * @param weight    [O, C, kh, kw]
     * @param bias      [O], or {@code null}
     * @param stride    the same stride along both axes, at least 1
     * @param padTop    zero rows added above
     * @param padBottom zero rows added below
     * @param padLeft   zero columns added on the left
     * @param padRight  zero columns added on the right
     * @return [N, O, (H + padTop + padBottom - kh) / stride + 1, (W + padLeft + padRight - kw) / stride + 1]
     */
    Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padTop, int padBottom, int padLeft,
            int padRight);

    /**
     * Group normalisation ({@code torch.nn.GroupNorm}): the channels are split into {@code groups} consecutive groups;
     * each (sample, group) is normalised with its mean and biased variance over the group's channels and all
     * positions, {@code (x - mean) / sqrt(var + eps)}, then scaled and shifted per channel.
     *
     * @param x     [N, C, H, W] with {@code C} divisible by {@code groups}
     * @param gamma [C]
     * @param beta  [C]
     * @return [N, C, H, W]
     */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps);

    /** Swish (SiLU), element-wise {@code x * sigmoid(x)}; any shape. */
    Tensor swish(Tensor x);

    /**
     * {@code swish(groupNorm(x, groups, gamma, beta, eps))}; backends may fuse the two passes. The default composes
     * {@link #groupNorm} and {@link #swish}.
     *
     * @param x [N, C, H, W]
     * @return [N, C, H, W]
     */
    default Tensor groupNormSwish(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return swish(groupNorm(x, groups, gamma, beta, eps));
    }

    /**
     * Nearest-neighbour up-sampling by 2 along both spatial axes ({@code F.interpolate(x, scale_factor=2,
     * mode="nearest")}): {@code out[n, c, y, x] = in[n, c, y / 2, x / 2]}.
     *
     * @param x [N, C, H, W]
     * @return [N, C, 2H, 2W]
     */
    Tensor upsampleNearest2x(Tensor x);

    /**
     * 2x2 average pooling with stride 2 ({@code F.avg_pool2d(x, 2)}); a trailing odd row or column is dropped.
     *
     * @param x [N, C, H, W] with {@code H, W >= 2}
     * @return [N, C, H / 2, W / 2]
     */
    Tensor avgPool2x2(Tensor x);

    /**
     * Single-head self-attention over the spatial positions of feature maps, channels being the feature dimension
     * (the VQ-VAE attention block): with {@code P = H * W} positions and {@code q, k, v} viewed as [N, C, P],
     * {@code out[n] = v[n] · softmax(q[n]ᵀ · k[n] / sqrt(C))ᵀ}, the softmax over the key positions.
     *
     * @param q [N, C, H, W]
     * @param k [N, C, H, W]
     * @param v [N, C, H, W]
     * @return [N, C, H, W]
     */
    Tensor spatialAttention(Tensor q, Tensor k, Tensor v);

    /**
     * Nearest codebook entry of every position of a feature map, by squared Euclidean distance computed as
     * {@code |z|² - 2 z·e + |e|²} (the VQ-VAE quantiser); ties go to the lowest index, as {@code torch.argmin}.
     *
     * @param z        [N, D, H, W]
     * @param codebook [K, D]
     * @return {@code N * H * W} indexes in [0, K), in (n, y, x) row-major order
     */
    int[] codebookNearest(Tensor z, Tensor codebook);

    /**
     * Codebook lookup into a feature map (the inverse of {@link #codebookNearest}):
     * {@code out[n, :, y, x] = codebook[ids[(n * height + y) * width + x], :]}.
     *
     * @param codebook [K, D]
     * @param ids      {@code batch * height * width} indexes in [0, K)
     * @return [batch, D, height, width]
     */
    Tensor codebookLookup(Tensor codebook, int[] ids, int batch, int height, int width);
}
