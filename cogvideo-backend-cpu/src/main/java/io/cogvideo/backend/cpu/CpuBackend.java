package io.cogvideo.backend.cpu;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.Half;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.TrainingOps;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.VqVaeTrainingOps;
import io.cogvideo.spi.WeightUse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@link Backend} on the CPU. OpenBLAS runs the GEMMs of the uncached pass and of attention over many queries,
 * directly on heap arrays; matrix-vector products of cached steps, element-wise operations and few-query attention
 * run as Java kernels the JIT vectorises. Activations are float32; 2-D weights are stored as float16 when the
 * checkpoint holds float16 (or when asked), half the memory, and widened to float32 inside the kernels (float32
 * arithmetic throughout). No ND4J code runs: OpenBLAS is called through JavaCPP's preset directly.
 *
 * <p>Op packs ({@link #find}): {@link FusedAttention} and {@link LocalAttention} ({@link CpuAttention}),
 * {@link VqVaeOps} ({@link CpuImageOps}), {@link TrainingOps} ({@link CpuTrainingOps}) and {@link VqVaeTrainingOps}
 * ({@link CpuVqVaeTrainingOps}).
 *
 * <p><b>State.</b> Everything belongs to the instance: the options, one pool of {@code threads} workers
 * ({@link CpuThreads}, used by every parallel loop of the backend and its packs), the attention block plans and the
 * off-heap buffers for widened float16 weights; {@link #close()} releases them. OpenBLAS's own native threads are
 * set to the backend's OpenBLAS count before each OpenBLAS call that needs another count ({@link Blas#useThreads}),
 * so two backends with different counts each run with their own.
 *
 * <p><b>Checking.</b> Callers reach this class through {@code CheckedBackend}, which validates every argument;
 * nothing here checks its inputs again.
 *
 * <p>Thread-safe: weights are read-only, activations belong to one request.
 */
final class CpuBackend implements Backend {
    /** Below this many multiply-adds a linear layer runs in Java rather than through a native GEMM call. */
    static final long JAVA_GEMM_MACS = 1L << 16;
    /** Up to this many rows a linear layer is a Java matrix-vector product (weights read once, all rows). */
    static final int JAVA_GEMV_ROWS = 16;

    private final BackendOptions options;
    private final CpuThreads threads;
    /** OpenBLAS threads for this backend's GEMMs. */
    private final int blasThreads;
    private final CpuAttention attention;
    private final CpuImageOps imageOps;
    /** Training: float32 kernels and OpenBLAS GEMMs on this backend's arrays ({@link CpuTrainingOps}). */
    private final CpuTrainingOps training;
    /** VQ-VAE training: im2col/col2im + OpenBLAS convolution backward and friends ({@link CpuVqVaeTrainingOps}). */
    private final CpuVqVaeTrainingOps vqVaeTraining;
    /** Idle off-heap buffers for widened float16 weights (at most one per concurrent uncached pass). */
    private final List<Blas.Scratch> idleScratch = new ArrayList<>();
    private boolean closed;

    /**
     * @param options {@code threads}: the Java workers and OpenBLAS both use that many; 0 means Java workers on every
     *                available processor and OpenBLAS on {@link Blas#defaultThreads()} (as before, when nd4j-native
     *                set it up). {@code weightDtype} FLOAT32, FLOAT16 or null (as in the checkpoint)
     * @throws CogVideoException if {@code weightDtype} is BFLOAT16, which this backend does not store
     */
    CpuBackend(BackendOptions options) {
        if (options.weightDtype() == DType.BFLOAT16) {
            throw new CogVideoException("the cpu backend stores weights as FLOAT32 or FLOAT16 (or null: float16 "
                    + "where the checkpoint has float16); BFLOAT16 is not supported on the cpu");
        }
        this.options = options;
        int n = options.threads();
        this.blasThreads = n > 0 ? n : Blas.defaultThreads();
        this.threads = new CpuThreads(n > 0 ? n : Runtime.getRuntime().availableProcessors());
        this.attention = new CpuAttention(threads, blasThreads);
        this.imageOps = new CpuImageOps(blasThreads);
        this.training = new CpuTrainingOps(threads, blasThreads);
        this.vqVaeTraining = new CpuVqVaeTrainingOps(threads, blasThreads);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        String w = options.weightDtype() == null ? "weights as in the checkpoint (float16 or float32)"
                : "weights " + options.weightDtype().name().toLowerCase(Locale.ROOT);
        return "cpu (OpenBLAS + Java kernels, " + w + ", float16 kernels "
                + (Fp16.VECTORIZED ? "vectorised" : "scalar (Java 17; run on Java 21+ for the vectorised ones)")
                + ", " + threads.count() + " threads"
                + (blasThreads == threads.count() ? "" : ", OpenBLAS on " + blasThreads) + ")";
    }

    /** The backend's worker threads (its thread count, for tests). */
    CpuThreads threads() {
        return threads;
    }

    /** The OpenBLAS thread count of this backend's GEMMs. */
    int blasThreads() {
        return blasThreads;
    }

    private static CpuTensor t(Tensor t) {
        return (CpuTensor) t;
    }

    private static CpuTensor heap(float[] data, int... shape) {
        return new CpuTensor(shape, data);
    }

    // ------------------------------------------------------------------ tensors

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        return heap(values.clone(), shape.clone());
    }

    /**
     * Stores a weight: 2-D tensors as float16 when the options ask for FLOAT16, or (no preference) when the checkpoint
     * holds float16; everything else as float32. A {@link WeightUse#LINEAR} weight is laid out transposed now
     * ({@code [in, out]}, the form the GEMV and GEMM paths of {@link #linear} read); its row-major form is not kept.
     *
     * @throws CogVideoException if a value must be stored as float16 and lies outside the float16 range
     */
    @Override
    public Tensor upload(TensorData data, WeightUse use) {
        int[] shape = data.shape();
        DType want = options.weightDtype();
        boolean half = shape.length == 2 && (want == DType.FLOAT16 || (want == null && data.dtype() == DType.FLOAT16));
        CpuTensor w = half ? new CpuTensor(shape, halfValues(data), false) : heap(data.toFloatArray(), shape);
        if (use == WeightUse.LINEAR) {
            if (half) {
                w.halfT(threads);
            } else {
                w.heapT(threads);
            }
        }
        return w;
    }

    /** The values of {@code data} as float16 bits: copied if stored as float16, else narrowed (range-checked). */
    private static short[] halfValues(TensorData data) {
        long n = data.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CogVideoException("tensor '" + data.name() + "' has " + n + " elements, more than the cpu "
                    + "backend keeps in one array (" + (Integer.MAX_VALUE - 8) + ")");
        }
        short[] values = new short[(int) n];
        if (data.dtype() == DType.FLOAT16) {
            data.data().asShortBuffer().get(values);
            return values;
        }
        float[] chunk = new float[(int) Math.min(n, 1 << 20)];
        for (long off = 0; off < n; off += chunk.length) {
            int len = (int) Math.min(chunk.length, n - off);
            data.copyToFloats(off, chunk, 0, len);
            for (int i = 0; i < len; i++) {
                float f = chunk[i];
                if (Math.abs(f) > 65504f) {
                    throw new CogVideoException("tensor '" + data.name() + "' holds " + f + " at element " + (off + i)
                            + ", outside the float16 range [-65504, 65504]; load it with FLOAT32 weights");
                }
                values[(int) off + i] = Half.fromFloat(f);
            }
        }
        return values;
    }

    /**
     * A zero-filled float32 cache: FLOAT32 as asked, FLOAT16 and BFLOAT16 widened to float32 (the attention kernels
     * read float32), reported by the tensor's dtype.
     *
     * @throws CogVideoException for FLOAT64: the cpu backend keeps key/value caches in float32
     */
    @Override
    public Tensor cache(DType dtype, int... shape) {
        if (dtype == DType.FLOAT64) {
            throw new CogVideoException("the cpu backend keeps key/value caches in float32 (FLOAT32, or FLOAT16 and "
                    + "BFLOAT16 widened to it); a FLOAT64 cache was asked for");
        }
        // CheckedBackend has checked numel <= Integer.MAX_VALUE
        return heap(new float[(int) TensorData.numel(shape)], shape.clone());
    }

    @Override
    public float[] toFloats(Tensor x) {
        return t(x).heap().clone();
    }

    // ------------------------------------------------------------------ operations

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        CpuTensor tab = t(table); // [V, h]
        int h = tab.shape[1];
        float[] out = new float[rows.length * h];
        if (tab.isHalf()) {
            short[] src = tab.half();
            for (int i = 0; i < rows.length; i++) {
                Fp16.toFloats(src, rows[i] * h, out, i * h, h);
            }
        } else {
            float[] src = tab.heap();
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(src, rows[i] * h, out, i * h, h);
            }
        }
        return heap(out, batch, rows.length / batch, h);
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        CpuTensor a = t(x); // [B, n, in]
        CpuTensor w = t(weight); // [out, in], kept as [in, out]
        int in = a.shape[a.shape.length - 1];
        int out = w.shape[0];
        int rows = a.numel() / in;
        int[] shape = a.shape.clone();
        shape[shape.length - 1] = out;
        long macs = (long) rows * in * out;
        float[] b = bias == null ? null : t(bias).heap();
        if (macs <= JAVA_GEMM_MACS || rows <= JAVA_GEMV_ROWS) {
            // cached steps: a matrix-vector product bound by reading the weight once
            Object wt = w.isHalf() ? w.halfT() : w.heapT();
            return heap(JavaKernels.linearT(a.heap(), rows, in, wt, out, b, threads), shape);
        }
        // the uncached pass: one GEMM
        Blas.useThreads(blasThreads);
        float[] y = JavaKernels.biasRows(b, rows, out);
        if (w.isHalf()) {
            // a float16 weight is widened into a reused off-heap buffer for this call, never kept as float32
            short[] h = w.halfT();
            Blas.Scratch scratch = borrowScratch(h.length);
            try {
                int n = h.length;
                threads.forParts(n, Math.max(1, Math.min(threads.count() * 4, n >> 16)), (from, to) -> {
                    float[] chunk = new float[Math.min(to - from, 1 << 16)];
                    for (int at = from; at < to; at += chunk.length) {
                        int len = Math.min(chunk.length, to - at);
                        Fp16.toFloats(h, at, chunk, 0, len);
                        scratch.buffer().put(at, chunk, 0, len);
                    }
                });
                Blas.sgemm(rows, out, in, 1f, a.heap(), scratch, b == null ? 0f : 1f, y);
            } finally {
                returnScratch(scratch);
            }
        } else {
            Blas.sgemm(false, false, rows, out, in, 1f, a.heap(), w.heapT(), b == null ? 0f : 1f, y);
        }
        return heap(y, shape);
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        CpuTensor a = t(x);
        int h = a.shape[a.shape.length - 1];
        float[] y = JavaKernels.layerNorm(a.heap(), h, t(gamma).heap(), t(beta).heap(), eps, threads);
        return heap(y, a.shape.clone());
    }

    @Override
    public Tensor gelu(Tensor x) {
        CpuTensor a = t(x);
        return heap(JavaKernels.gelu(a.heap(), threads), a.shape.clone());
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        CpuTensor x = t(a);
        CpuTensor y = t(b);
        float[] xs = x.heap();
        float[] ys = y.heap(); // the shape of x, or batch 1 (broadcast)
        float[] out = new float[xs.length];
        int per = ys.length;
        for (int i = 0; i < xs.length; i++) {
            out[i] = xs[i] + ys[i % per];
        }
        return heap(out, x.shape.clone());
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        CpuTensor a = t(x);
        int[] shape = a.shape.clone();
        if (a.isHalf() && shape.length == 2 && axis == 0) {
            // a float16 weight's leading rows (the tied output head) stay float16
            short[] rows = Arrays.copyOfRange(a.half(), start * shape[1], (start + length) * shape[1]);
            shape[0] = length;
            return new CpuTensor(shape, rows, false);
        }
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        float[] src = a.heap();
        float[] out = new float[outer * length * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(src, (o * shape[axis] + start) * inner, out, o * length * inner, length * inner);
        }
        shape[axis] = length;
        return heap(out, shape);
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        CpuTensor first = t(parts[0]);
        int[] shape = first.shape.clone();
        int total = 0;
        for (Tensor p : parts) {
            total += t(p).shape[axis];
        }
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        float[] out = new float[outer * total * inner];
        int off = 0;
        for (Tensor p : parts) {
            CpuTensor c = t(p);
            int len = c.shape[axis];
            float[] src = c.heap();
            for (int o = 0; o < outer; o++) {
                System.arraycopy(src, o * len * inner, out, (o * total + off) * inner, len * inner);
            }
            off += len;
        }
        shape[axis] = total;
        return heap(out, shape);
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        CpuTensor d = t(dst);
        CpuTensor s = t(src);
        int len = s.shape[axis];
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= d.shape[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < d.shape.length; i++) {
            inner *= d.shape[i];
        }
        float[] dh = d.heap();
        float[] sh = s.heap();
        for (int o = 0; o < outer; o++) {
            System.arraycopy(sh, o * len * inner, dh, (o * d.shape[axis] + offset) * inner, len * inner);
        }
    }

    /**
     * The attention packs ({@link CpuAttention}), the VQ-VAE pack ({@link CpuImageOps}), the training pack
     * ({@link CpuTrainingOps}) and the VQ-VAE training pack ({@link CpuVqVaeTrainingOps}); nothing else.
     */
    @Override
    public <P extends OpPack> Optional<P> find(Class<P> pack) {
        Object p = pack == FusedAttention.class || pack == LocalAttention.class ? attention
                : pack == VqVaeOps.class ? imageOps
                : pack == TrainingOps.class ? training
                : pack == VqVaeTrainingOps.class ? vqVaeTraining : null;
        return Optional.ofNullable(p).map(pack::cast);
    }

    /** An off-heap buffer of at least {@code size} floats: an idle one if one is large enough, else a new one. */
    private Blas.Scratch borrowScratch(int size) {
        synchronized (idleScratch) {
            for (int i = 0; i < idleScratch.size(); i++) {
                if (idleScratch.get(i).size >= size) {
                    return idleScratch.remove(i);
                }
            }
            if (!idleScratch.isEmpty()) {
                idleScratch.remove(0).close(); // too small: replace it, so idle buffers stay few
            }
        }
        return new Blas.Scratch(size);
    }

    private void returnScratch(Blas.Scratch s) {
        synchronized (idleScratch) {
            if (closed) {
                s.close();
            } else {
                idleScratch.add(s);
            }
        }
    }

    /**
     * Stops and joins the worker threads, frees the idle off-heap buffers and drops the attention plans; a buffer still
     * in use by a pass that runs now is freed when that pass returns it. Idempotent.
     */
    @Override
    public void close() {
        synchronized (idleScratch) {
            if (closed) {
                return;
            }
            closed = true;
            idleScratch.forEach(Blas.Scratch::close);
            idleScratch.clear();
        }
        threads.close();
        attention.clear();
        training.clear();
    }
}
