package io.cogvideo.spi;

import java.util.Optional;

/**
 * The primitive layer of the backend SPI: tensor lifecycle and one level of dense operations. Everything beyond it
 * (fused dual-channel attention, VQ-VAE image operations, super-resolution's local attention, and later training)
 * lives in named {@linkplain OpPack op packs} that a model finds by capability with {@link #find}.
 *
 * <p>Conventions: activations are {@code [batch, rows, columns]} float tensors; linear weights are {@code [out, in]}
 * as in PyTorch; every operation returns a new tensor unless it says otherwise. A tensor argument with batch 1 is
 * broadcast over the other argument's batch where noted.
 *
 * <p><b>Checking.</b> Callers never see a backend directly: {@link Backends} hands out a {@link CheckedBackend},
 * which validates every argument (rank, shapes, dtype, owner, closed) once, for every backend, before the backend
 * sees it. Implementations may therefore assume well-formed inputs and contain no validation of their own.
 *
 * <p><b>Thread safety.</b> A backend is shared by all requests of a generator and must allow concurrent calls on
 * distinct tensors. Tensors themselves are not synchronised: one request's tensors belong to one thread at a time.
 */
public interface Backend extends AutoCloseable {

    /** Short name, as used to select it ({@code cpu}, {@code cuda}). */
    String name();

    /** One line for logs: device, threads, weight storage. */
    String description();

    // ---------------------------------------------------------------- tensor lifecycle

    /** A float32 tensor with the given host values (row-major). */
    Tensor fromFloats(float[] values, int... shape);

    /**
     * Makes a weight from checkpoint bytes. The backend chooses how to store it (for example float16 kept as float16);
     * the values must be those of {@code data} converted exactly when widened.
     *
     * @param use {@link WeightUse#LINEAR} if the tensor will only be the {@code weight} of {@link #linear} calls, so
     *            the backend may lay it out for that now (the CPU backend keeps such weights transposed)
     */
    Tensor upload(TensorData data, WeightUse use);

    /**
     * A zero-filled key/value cache, written with {@link #write} and read as the {@code k}/{@code v} of attention.
     * {@code dtype} is the element type asked for (the model asks for the storage type of its weights, so a GPU
     * keeps float16 caches for float16 weights). A backend whose kernels cannot read that type may hold the cache in a
     * wider floating type, never a narrower one; the tensor's {@link Tensor#dtype()} says which. A type it cannot
     * hold at all is refused with an exception that lists the supported ones.
     */
    Tensor cache(DType dtype, int... shape);

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

    /** A copy of {@code x[..., start:start+length, ...]} along {@code axis}. */
    Tensor slice(Tensor x, int axis, int start, int length);

    /** Concatenation along {@code axis}. */
    Tensor concat(int axis, Tensor... parts);

    /** In place: {@code dst[..., offset:offset+len, ...] = src} along {@code axis}. */
    void write(Tensor dst, int axis, int offset, Tensor src);

    // ---------------------------------------------------------------- capabilities

    /**
     * The backend's implementation of an op pack, if it has one (ggml's {@code supports_op}, DJL's
     * {@code hasCapability}). The returned pack works on this backend's tensors. The default has none.
     */
    default <P extends OpPack> Optional<P> find(Class<P> pack) {
        return Optional.empty();
    }

    /** Releases everything the backend holds. */
    @Override
    void close();
}
