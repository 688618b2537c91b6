package io.cogvideo.backend.cpu;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link Backend} on the CPU. OpenBLAS (the build ND4J ships) runs the GEMMs of the uncached pass and of attention
 * over many queries, directly on heap arrays; matrix-vector products of cached steps, element-wise operations and
 * few-query attention run as Java kernels the JIT vectorises, on a pool of {@code threads} workers. Activations are
 * float32; 2-D weights are stored as float16 when the checkpoint holds float16 (or when asked), half the memory, and
 * widened to float32 inside the kernels (float32 arithmetic throughout). ND4J itself still runs the image
 * tokenizer's operations.
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
    /** Idle off-heap buffers for widened float16 weights (at most one per concurrent uncached pass). */
    private final java.util.List<Blas.Scratch> idleScratch = new java.util.ArrayList<>();
    private boolean closed;

    CpuBackend(BackendOptions options) {
        this.options = options;
        Nd4jQuiet.init(options.threads());
        this.threads = new CpuThreads(Nd4jQuiet.threads());
        if (options.weightDtype() == DType.BFLOAT16) {
            throw new CogVideoException("the cpu backend stores weights as FLOAT32 or FLOAT16 (or null: float16 "
                    + "where the checkpoint has float16); BFLOAT16 is not supported on the cpu");
        }
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        String w = options.weightDtype() == null ? "weights as in the checkpoint (float16 or float32)"
                : "weights " + options.weightDtype().name().toLowerCase(java.util.Locale.ROOT);
        return "cpu (OpenBLAS + Java kernels, " + w + ", float16 kernels "
                + (Fp16.VECTORIZED ? "vectorised" : "scalar (Java 17; run on Java 21+ for the vectorised ones)")
                + ", " + Nd4jQuiet.threads() + " threads)";
    }

    static CpuTensor t(Tensor t) {
        if (t instanceof CpuTensor c) {
            return c;
        }
        throw new CogVideoException("tensor " + t + " does not belong to the cpu backend");
    }

    private static CpuTensor heap(float[] data, int... shape) {
        return new CpuTensor(shape, data);
    }

    // ------------------------------------------------------------------ tensors

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        if (TensorData.numel(shape) != values.length) {
            throw new CogVideoException("shape " + Arrays.toString(shape) + " needs " + TensorData.numel(shape)
                    + " values, got " + values.length);
        }
        return heap(values.clone(), shape.clone());
    }

    /**
     * Stores a weight: 2-D tensors as float16 when the options ask for FLOAT16, or (no preference) when the checkpoint
     * holds float16; everything else as float32.
     */
    @Override
    public Tensor upload(TensorData data) {
        int[] shape = data.shape();
        DType want = options.weightDtype();
        boolean half = shape.length == 2 && data.dtype().isFloatingPoint()
                && (want == DType.FLOAT16 || (want == null && data.dtype() == DType.FLOAT16));
        if (!half) {
            return heap(data.toFloatArray(), shape);
        }
        long n = data.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CogVideoException("tensor '" + data.name() + "' has " + n + " elements, too many for one array");
        }
        short[] values = new short[(int) n];
        if (data.dtype() == DType.FLOAT16) {
            data.data().asShortBuffer().get(values);
        } else {
            float[] chunk = new float[(int) Math.min(n, 1 << 20)];
            for (long off = 0; off < n; off += chunk.length) {
                int len = (int) Math.min(chunk.length, n - off);
                data.copyToFloats(off, chunk, 0, len);
                for (int i = 0; i < len; i++) {
                    float f = chunk[i];
                    if (Math.abs(f) > 65504f) {
                        throw new CogVideoException("tensor '" + data.name() + "' holds " + f + " at element "
                                + (off + i) + ", outside the float16 range [-65504, 65504]; load it with FLOAT32 "
                                + "weights");
                    }
                    values[(int) off + i] = io.cogvideo.spi.Half.fromFloat(f);
                }
            }
        }
        return new CpuTensor(shape.clone(), values, false);
    }

    @Override
    public Tensor zeros(int... shape) {
        return heap(new float[Math.toIntExact(TensorData.numel(shape))], shape.clone());
    }

    @Override
    public float[] toFloats(Tensor x) {
        return t(x).heap().clone();
    }

    // ------------------------------------------------------------------ operations

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        CpuTensor tab = t(table);
        int vocab = tab.shape[0];
        int h = tab.shape[1];
        if (rows.length % batch != 0) {
            throw new CogVideoException("gatherRows: " + rows.length + " rows do not split into batch " + batch);
        }
        for (int r : rows) {
            if (r < 0 || r >= vocab) {
                throw new CogVideoException("row " + r + " outside [0, " + vocab + ")");
            }
        }
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
        CpuTensor a = t(x);
        CpuTensor w = t(weight);
        int in = a.shape[a.shape.length - 1];
        int out = w.shape[0];
        if (w.shape[1] != in) {
            throw new CogVideoException("linear: input width " + in + " does not match weight "
                    + Arrays.toString(w.shape));
        }
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

    /** Lays a linear weight out transposed now ({@code [in, out]}, float16 or float32 as stored). */
    @Override
    public Tensor prepareLinear(Tensor weight) {
        CpuTensor w = t(weight);
        if (w.shape.length == 2) {
            if (w.isHalf()) {
                w.halfT(threads);
            } else {
                w.heapT(threads);
            }
        }
        return weight;
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
        float[] ys = y.heap();
        if (xs.length % ys.length != 0 || (xs.length != ys.length && y.shape[0] != 1)) {
            throw new CogVideoException("add: shapes " + Arrays.toString(x.shape) + " and " + Arrays.toString(y.shape)
                    + " do not broadcast");
        }
        float[] out = new float[xs.length];
        int per = ys.length;
        for (int i = 0; i < xs.length; i++) {
            out[i] = xs[i] + ys[i % per];
        }
        return heap(out, x.shape.clone());
    }

    @Override
    public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
        CpuTensor b = t(base);
        float[] bs = b.heap();
        float[] ps = t(plus).heap();
        float[] a = t(mixLogits).heap();
        int h = a.length;
        float[] s = new float[h];
        for (int i = 0; i < h; i++) {
            s[i] = (float) (1.0 / (1.0 + Math.exp(-a[i])));
        }
        float[] out = new float[bs.length];
        for (int i = 0; i < bs.length; i++) {
            float si = s[i % h];
            out[i] = si * bs[i] + (1f - si) * ps[i];
        }
        return heap(out, b.shape.clone());
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        CpuTensor a = t(x);
        int[] shape = a.shape.clone();
        int ax = axis < 0 ? shape.length + axis : axis;
        if (start < 0 || length < 0 || start + length > shape[ax]) {
            throw new CogVideoException("slice [" + start + ", " + (start + length) + ") outside axis " + ax
                    + " of " + Arrays.toString(shape));
        }
        if (a.isHalf() && shape.length == 2 && ax == 0) {
            // a float16 weight's leading rows (the tied output head) stay float16
            short[] rows = Arrays.copyOfRange(a.half(), start * shape[1], (start + length) * shape[1]);
            shape[0] = length;
            return new CpuTensor(shape, rows, false);
        }
        int outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= shape[i];
        }
        int inner = 1;
        for (int i = ax + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        float[] src = a.heap();
        float[] out = new float[outer * length * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(src, (o * shape[ax] + start) * inner, out, o * length * inner, length * inner);
        }
        shape[ax] = length;
        return heap(out, shape);
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        CpuTensor first = t(parts[0]);
        int[] shape = first.shape.clone();
        int ax = axis < 0 ? shape.length + axis : axis;
        int total = 0;
        for (Tensor p : parts) {
            total += t(p).shape[ax];
        }
        int outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= shape[i];
        }
        int inner = 1;
        for (int i = ax + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        float[] out = new float[outer * total * inner];
        int off = 0;
        for (Tensor p : parts) {
            CpuTensor c = t(p);
            int len = c.shape[ax];
            float[] src = c.heap();
            for (int o = 0; o < outer; o++) {
                System.arraycopy(src, o * len * inner, out, (o * total + off) * inner, len * inner);
            }
            off += len;
        }
        shape[ax] = total;
        return heap(out, shape);
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        CpuTensor d = t(dst);
        CpuTensor s = t(src);
        int ax = axis < 0 ? d.shape.length + axis : axis;
        int len = s.shape[ax];
        if (offset < 0 || offset + len > d.shape[ax]) {
            throw new CogVideoException("write: rows [" + offset + ", " + (offset + len) + ") outside [0, "
                    + d.shape[ax] + ")");
        }
        int outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= d.shape[i];
        }
        int inner = 1;
        for (int i = ax + 1; i < d.shape.length; i++) {
            inner *= d.shape[i];
        }
        float[] dh = d.heap();
        float[] sh = s.heap();
        for (int o = 0; o < outer; o++) {
            System.arraycopy(sh, o * len * inner, dh, (o * d.shape[ax] + offset) * inner, len * inner);
        }
        d.heapChanged();
    }

    @Override
    public Tensor attention(Tensor qt, Tensor kt, Tensor vt, int keyLength, AttentionMask mask) {
        CpuTensor q = t(qt);
        CpuTensor k = t(kt);
        CpuTensor v = t(vt);
        int nq = q.shape[1];
        int width = q.shape[2];
        if (k.shape[2] != width || v.shape[2] != width || keyLength > k.shape[1] || k.shape[0] != q.shape[0]) {
            throw new CogVideoException("attention: q " + Arrays.toString(q.shape) + ", k " + Arrays.toString(k.shape)
                    + ", v " + Arrays.toString(v.shape) + ", keyLength " + keyLength + " do not fit");
        }
        if (nq <= 8) {
            float[] out = JavaKernels.attention(q.heap(), k.heap(), v.heap(), q.shape[0], nq, k.shape[1], keyLength,
                    width, mask, threads);
            return heap(out, q.shape.clone());
        }
        float[] out = CpuAttention.attention(q.heap(), k.heap(), v.heap(), q.shape[0], nq, k.shape[1], keyLength,
                width, mask, threads);
        return heap(out, q.shape.clone());
    }

    @Override
    public Tensor localAttention(Tensor q, Tensor kFine, Tensor vFine, Tensor kCoarse, Tensor vCoarse,
            io.cogvideo.spi.LocalAttentionSpec spec) {
        CpuTensor qt = t(q);
        int batch = qt.shape[0];
        int width = qt.shape[2];
        int n = spec.fineGrid() * spec.fineGrid();
        int nc = spec.coarseGrid() * spec.coarseGrid();
        if (qt.shape[1] != n || t(kFine).shape[1] != n || t(kCoarse).shape[1] != nc || width % spec.heads() != 0) {
            throw new CogVideoException("localAttention: q " + Arrays.toString(qt.shape) + ", fine keys "
                    + Arrays.toString(t(kFine).shape) + ", coarse keys " + Arrays.toString(t(kCoarse).shape)
                    + " do not fit grids " + spec.fineGrid() + "/" + spec.coarseGrid());
        }
        float[] out = JavaKernels.localAttention(qt.heap(), t(kFine).heap(), t(vFine).heap(), t(kCoarse).heap(),
                t(vCoarse).heap(), batch, width, spec);
        return heap(out, qt.shape.clone());
    }

    /** An off-heap buffer of at least {@code size} floats: an idle one if one is large enough, else a new one. */
    private Blas.Scratch borrowScratch(int size) {
        synchronized (idleScratch) {
            if (closed) {
                throw new CogVideoException("the cpu backend is closed");
            }
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

    /** Frees the idle buffers and stops the worker threads; buffers in use are freed when their pass ends. */
    @Override
    public void close() {
        synchronized (idleScratch) {
            closed = true;
            idleScratch.forEach(Blas.Scratch::close);
            idleScratch.clear();
        }
        threads.close();
    }

    // ------------------------------------------------------------------ image operations (see CpuImageOps)

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padTop, int padBottom, int padLeft,
            int padRight) {
        return CpuImageOps.conv2d(t(x), t(weight), bias == null ? null : t(bias), stride, padTop, padBottom,
                padLeft, padRight);
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return CpuImageOps.groupNorm(t(x), groups, t(gamma), t(beta), eps, false);
    }

    @Override
    public Tensor swish(Tensor x) {
        return CpuImageOps.swish(t(x));
    }

    @Override
    public Tensor groupNormSwish(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return CpuImageOps.groupNorm(t(x), groups, t(gamma), t(beta), eps, true);
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        return CpuImageOps.upsampleNearest2x(t(x));
    }

    @Override
    public Tensor avgPool2x2(Tensor x) {
        return CpuImageOps.avgPool2x2(t(x));
    }

    @Override
    public Tensor spatialAttention(Tensor q, Tensor k, Tensor v) {
        return CpuImageOps.spatialAttention(t(q), t(k), t(v));
    }

    @Override
    public int[] codebookNearest(Tensor z, Tensor codebook) {
        return CpuImageOps.codebookNearest(t(z), t(codebook));
    }

    @Override
    public Tensor codebookLookup(Tensor codebook, int[] ids, int batch, int height, int width) {
        return CpuImageOps.codebookLookup(t(codebook), ids, batch, height, width);
    }
}
