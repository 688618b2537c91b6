package io.cogvideo.spi;

/**
 * The tensor operations the CogVideo model needs, and nothing more. One model definition
 * ({@link io.cogvideo.model.CogVideoModel}) runs on every backend through this interface.
 *
 * <p>Conventions: activations are {@code [batch, rows, columns]} float tensors; linear weights are
 * {@code [out, in]} as in PyTorch; every operation returns a new tensor unless it says otherwise. A tensor argument
 * with batch 1 is broadcast over the other argument's batch where noted.
 *
 * <p>Thread safety: a backend is shared by all requests of a generator and must allow concurrent calls on distinct
 * tensors. Tensors themselves are not synchronised: one request's tensors belong to one thread at a time.
 */
public interface Backend extends AutoCloseable {

    /** Short name, as used to select it ({@code cpu}, {@code cuda}). */
    String name();

    /** One line for logs: device, threads, weight storage. */
    String description();

    // ---------------------------------------------------------------- tensors

    /** A float32 tensor with the given host values (row-major). */
    Tensor fromFloats(float[] values, int... shape);

    /**
     * Makes a weight from checkpoint bytes. The backend chooses how to store it (for example float32 on the CPU,
     * float16 on a GPU); the values must be those of {@code data} converted exactly when widened.
     */
    Tensor upload(TensorData data);

    /** A zero-filled float tensor (used for preallocated key/value caches). */
    Tensor zeros(int... shape);

    /** Copies a tensor's values to the host, row-major, as float32. */
    float[] toFloats(Tensor t);

    // ---------------------------------------------------------------- operations

    /**
     * Embedding lookup: {@code out[b, i, :] = table[rows[b * n + i], :]} with {@code n = rows.length / batch}.
     *
     * @param table [V, h]
     * @return [batch, rows.length / batch, h]
     */
    Tensor gatherRows(Tensor table, int[] rows, int batch);

    /**
     * {@code x · weightᵀ + bias}.
     *
     * @param x      [B, n, in]
     * @param weight [out, in]
     * @param bias   [out], or {@code null}
     * @return [B, n, out]
     */
    Tensor linear(Tensor x, Tensor weight, Tensor bias);

    /**
     * A hint, given once at load time, that {@code weight} will be the weight of {@link #linear} calls, so a backend
     * can lay it out for that now (the CPU backend keeps such weights transposed) rather than on the first call. The
     * default does nothing; {@code linear} must work without the hint.
     *
     * @return {@code weight}
     */
    default Tensor prepareLinear(Tensor weight) {
        return weight;
    }

    /** LayerNorm over the last dimension: {@code (x - mean) / sqrt(var + eps) * gamma + beta}. */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    /** GELU, tanh form: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    Tensor gelu(Tensor x);

    /** Element-wise sum; {@code b} may have batch 1 (broadcast over {@code a}'s batch). */
    Tensor add(Tensor a, Tensor b);

    /**
     * CogVideo's channel mix: {@code sigmoid(mixLogits) * base + (1 - sigmoid(mixLogits)) * plus}, with
     * {@code mixLogits} [h] broadcast over batch and rows.
     */
    Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits);

    /** A copy of {@code x[..., start:start+length, ...]} along {@code axis}. */
    Tensor slice(Tensor x, int axis, int start, int length);

    /** Concatenation along {@code axis}. */
    Tensor concat(int axis, Tensor... parts);

    /** In place: {@code dst[..., offset:offset+len, ...] = src} along {@code axis}. */
    void write(Tensor dst, int axis, int offset, Tensor src);

    /**
     * Fused multi-head attention with a structured mask: for each batch row and head,
     * {@code softmax(q kᵀ / sqrt(d) + boost, masked by mask) · v} over the first {@code keyLength} key rows.
     *
     * @param q         [B, nq, heads * d]
     * @param k         [B, >= keyLength, heads * d] (a cache may be longer than its valid part)
     * @param v         same shape as {@code k}
     * @param keyLength valid key rows
     * @param mask      who sees whom; see {@link AttentionMask}
     * @return [B, nq, heads * d]
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, int keyLength, AttentionMask mask);

    /**
     * Local attention of CogView2's direct super-resolution (see {@link LocalAttentionSpec}): each fine-raster query
     * attends to a neighbourhood of the coarse raster and of the fine raster in one softmax.
     *
     * @param q       [B, fineGrid², heads * d] queries (fine raster, row-major)
     * @param kFine   [B, fineGrid², heads * d]
     * @param vFine   [B, fineGrid², heads * d]
     * @param kCoarse [B, coarseGrid², heads * d]
     * @param vCoarse [B, coarseGrid², heads * d]
     * @return [B, fineGrid², heads * d]
     */
    default Tensor localAttention(Tensor q, Tensor kFine, Tensor vFine, Tensor kCoarse, Tensor vCoarse,
            LocalAttentionSpec spec) {
        throw unsupported("localAttention (super-resolution)");
    }

    // ---------------------------------------------------------------- image operations (VQ-VAE)
    //
    // Feature maps are NCHW float tensors: [batch, channels, height, width], row-major. These operations are
    // optional: a backend that does not run the image tokenizer keeps the defaults, which throw
    // UnsupportedOperationException naming the operation and the backend.

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
    default Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padTop, int padBottom, int padLeft,
            int padRight) {
        throw unsupported("conv2d");
    }

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
    default Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        throw unsupported("groupNorm");
    }

    /** Swish (SiLU), element-wise {@code x * sigmoid(x)}; any shape. */
    default Tensor swish(Tensor x) {
        throw unsupported("swish");
    }

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
    default Tensor upsampleNearest2x(Tensor x) {
        throw unsupported("upsampleNearest2x");
    }

    /**
     * 2x2 average pooling with stride 2 ({@code F.avg_pool2d(x, 2)}); a trailing odd row or column is dropped.
     *
     * @param x [N, C, H, W] with {@code H, W >= 2}
     * @return [N, C, H / 2, W / 2]
     */
    default Tensor avgPool2x2(Tensor x) {
        throw unsupported("avgPool2x2");
    }

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
    default Tensor spatialAttention(Tensor q, Tensor k, Tensor v) {
        throw unsupported("spatialAttention");
    }

    /**
     * Nearest codebook entry of every position of a feature map, by squared Euclidean distance computed as
     * {@code |z|² - 2 z·e + |e|²} (the VQ-VAE quantiser); ties go to the lowest index, as {@code torch.argmin}.
     *
     * @param z        [N, D, H, W]
     * @param codebook [K, D]
     * @return {@code N * H * W} indexes in [0, K), in (n, y, x) row-major order
     */
    default int[] codebookNearest(Tensor z, Tensor codebook) {
        throw unsupported("codebookNearest");
    }

    /**
     * Codebook lookup into a feature map (the inverse of {@link #codebookNearest}):
     * {@code out[n, :, y, x] = codebook[ids[(n * height + y) * width + x], :]}.
     *
     * @param codebook [K, D]
     * @param ids      {@code batch * height * width} indexes in [0, K)
     * @return [batch, D, height, width]
     */
    default Tensor codebookLookup(Tensor codebook, int[] ids, int batch, int height, int width) {
        throw unsupported("codebookLookup");
    }

    private UnsupportedOperationException unsupported(String op) {
        return new UnsupportedOperationException(op + " is not implemented by backend " + name());
    }

    /** Releases everything the backend holds. */
    @Override
    void close();
}
