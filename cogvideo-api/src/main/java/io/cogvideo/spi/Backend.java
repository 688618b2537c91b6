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
        throw new UnsupportedOperationException("localAttention (super-resolution) is not implemented by backend "
                + name());
    }

    /** Releases everything the backend holds. */
    @Override
    void close();
}
