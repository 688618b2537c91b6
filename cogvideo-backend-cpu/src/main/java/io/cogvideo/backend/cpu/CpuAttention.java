package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.LocalAttentionSpec;
import io.cogvideo.spi.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CPU backend's attention op packs: CogVideo's fused dual-channel attention with its channel mix
 * ({@link FusedAttention}) and CogView2's local attention for super-resolution ({@link LocalAttention}).
 *
 * <p>A few query rows (cached steps) run as Java kernels ({@link JavaKernels#attention}). Many query rows (the
 * uncached pass) run here on heap arrays: per batch row, head and block of query rows (the text, or one frame),
 * {@code softmax(q kᵀ / sqrt(d) + bias) v} with two OpenBLAS GEMMs over only the keys the block can see (the text and
 * one contiguous run of frame keys, from the structured {@link AttentionMask}), and the masked softmax in Java between
 * them. No ND4J arrays, no off-heap allocation beyond the call's GEMM operands.
 *
 * <p>One instance per backend: it runs on the backend's {@link CpuThreads} and keeps its own cache of block plans.
 * Inputs are raw {@link CpuTensor}s already validated by {@code CheckedBackend}. Thread-safe.
 */
final class CpuAttention implements FusedAttention, LocalAttention {
    /** Up to this many query rows attention runs as a Java kernel rather than as GEMMs. */
    static final int JAVA_ATTENTION_ROWS = 8;
    /** Block plans kept (every layer of a pass uses the same few masks). */
    private static final int PLANS_KEPT = 6;

    private final CpuThreads threads;
    /** OpenBLAS threads for this backend's GEMMs. */
    private final int blasThreads;
    /** The last few block plans, most recently used last. */
    private final Map<PlanKey, List<Block>> plans = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<PlanKey, List<Block>> e) {
            return size() > PLANS_KEPT;
        }
    };

    CpuAttention(CpuThreads threads, int blasThreads) {
        this.threads = threads;
        this.blasThreads = blasThreads;
    }

    @Override
    public Tensor attention(Tensor qt, Tensor kt, Tensor vt, int keyLength, AttentionMask mask) {
        CpuTensor q = (CpuTensor) qt; // [B, nq, width]
        CpuTensor k = (CpuTensor) kt; // [B, kRows >= keyLength, width]
        CpuTensor v = (CpuTensor) vt; // [B, kRows, width]
        int batch = q.shape[0];
        int nq = q.shape[1];
        int width = q.shape[2];
        int kRows = k.shape[1];
        float[] out; // [B, nq, width]
        if (nq <= JAVA_ATTENTION_ROWS) {
            out = JavaKernels.attention(q.heap(), k.heap(), v.heap(), batch, nq, kRows, keyLength, width, mask,
                    threads);
        } else {
            Blas.useThreads(blasThreads);
            out = attention(q.heap(), k.heap(), v.heap(), batch, nq, kRows, keyLength, width, mask);
        }
        return new CpuTensor(q.shape.clone(), out);
    }

    @Override
    public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
        CpuTensor b = (CpuTensor) base; // [B, n, h]
        float[] bs = b.heap();
        float[] ps = ((CpuTensor) plus).heap(); // [B, n, h]
        float[] a = ((CpuTensor) mixLogits).heap(); // [h]
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
        return new CpuTensor(b.shape.clone(), out);
    }

    @Override
    public Tensor localAttention(Tensor q, Tensor kFine, Tensor vFine, Tensor kCoarse, Tensor vCoarse,
            LocalAttentionSpec spec) {
        CpuTensor qt = (CpuTensor) q; // [B, fineGrid², width]
        float[] out = JavaKernels.localAttention(qt.heap(), ((CpuTensor) kFine).heap(), ((CpuTensor) vFine).heap(),
                ((CpuTensor) kCoarse).heap(), ((CpuTensor) vCoarse).heap(), qt.shape[0], qt.shape[2], spec, threads);
        return new CpuTensor(qt.shape.clone(), out);
    }

    /** Drops the cached block plans (the backend is closing). */
    void clear() {
        synchronized (plans) {
            plans.clear();
        }
    }

    /**
     * @param q [batch, nq, width]; k, v [batch, kRows, width] of which the first {@code nk} rows are keys
     * @return [batch, nq, width]
     */
    private float[] attention(float[] q, float[] k, float[] v, int batch, int nq, int kRows, int nk, int width,
            AttentionMask mask) {
        int heads = mask.heads();
        int d = width / heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        List<Block> blocks = blocksFor(nq, nk, mask);
        int maxRows = 0;
        int maxCols = 0;
        for (Block blk : blocks) {
            maxRows = Math.max(maxRows, blk.q1 - blk.q0);
            maxCols = Math.max(maxCols, blk.text + blk.hi - blk.lo);
        }
        float[] out = new float[batch * nq * width];
        // GEMM operands live off-heap for the call: OpenBLAS reads and writes them in place (a heap array would be
        // copied in and out by JNI on every call), and the softmax works on the scores where they are.
        try (Blas.Scratch qs = new Blas.Scratch(maxRows * d);
                Blas.Scratch ks = new Blas.Scratch(maxCols * d);
                Blas.Scratch vs = new Blas.Scratch(maxCols * d);
                Blas.Scratch ss = new Blas.Scratch((long) maxRows * maxCols);
                Blas.Scratch os = new Blas.Scratch(maxRows * d)) {
            float[] row = new float[d];
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int col = h * d;
                    int kBase = b * kRows * width + col;
                    for (Block blk : blocks) {
                        int rows = blk.q1 - blk.q0;
                        int cols = blk.text + blk.hi - blk.lo;
                        if (cols == 0) {
                            continue;
                        }
                        for (int r = 0; r < rows; r++) {
                            qs.buffer().put(r * d, q, (b * nq + blk.q0 + r) * width + col, d);
                        }
                        for (int c = 0; c < cols; c++) {
                            int key = c < blk.text ? c : blk.lo + (c - blk.text);
                            ks.buffer().put(c * d, k, kBase + key * width, d);
                            vs.buffer().put(c * d, v, kBase + key * width, d);
                        }
                        Blas.sgemm(rows, cols, d, scale, qs, ks, true, ss); // [rows, cols] = q kᵀ / sqrt(d)
                        softmaxRows(ss.buffer(), rows, cols, blk, threads);
                        Blas.sgemm(rows, d, cols, 1f, ss, vs, false, os); // [rows, d]
                        for (int r = 0; r < rows; r++) {
                            os.buffer().get(r * d, row, 0, d);
                            System.arraycopy(row, 0, out, (b * nq + blk.q0 + r) * width + col, d);
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * In place on the scores {@code s[rows, cols]}: {@code s[r, :] = softmax(s[r, :] + bias[r, :])}, exponentials
     * only up to the row's last visible key (the rest is zero); a row with no visible key becomes zeros.
     */
    static void softmaxRows(java.nio.FloatBuffer s, int rows, int cols, Block blk, CpuThreads threads) {
        float[] bias = blk.bias;
        float[] keep = blk.keep;
        int[] ends = blk.ends;
        int parts = (long) rows * cols >= (1 << 15) ? threads.count() * 4 : 1;
        threads.forParts(rows, parts, (r0, r1) -> {
            float[] x = new float[cols];
            int[] m = new int[cols];
            float[] t = new float[cols];
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                int end = ends[r];
                s.get(o, x, 0, end);
                for (int c = 0; c < end; c++) {
                    x[c] += bias[o + c];
                }
                float max = JavaKernels.max(x, end);
                if (max == Float.NEGATIVE_INFINITY) {
                    end = 0;
                } else {
                    for (int c = 0; c < end; c++) {
                        x[c] -= max;
                    }
                    JavaKernels.expNonPositive(x, end, m, t);
                    float sum = 0;
                    if (keep != null) {
                        // masked keys inside the visible run: exactly zero weight
                        for (int c = 0; c < end; c++) {
                            x[c] *= keep[o + c];
                        }
                    }
                    sum = JavaKernels.sum(x, end);
                    float inv = 1f / sum;
                    for (int c = 0; c < end; c++) {
                        x[c] *= inv;
                    }
                }
                java.util.Arrays.fill(x, end, cols, 0f);
                s.put(o, x, 0, cols);
            }
        });
    }

    /**
     * A block of query rows (the text rows, or the rows of one frame) with the key rows any of them can see: the
     * text, then one contiguous run of frame keys. The spatial channel then costs (text + one frame) per query rather
     * than the whole sequence, the causal temporal channel only what precedes the block.
     */
    private record Block(int q0, int q1, int text, int lo, int hi, float[] bias, int[] ends, float[] keep) {
    }

    private record PlanKey(int nq, int nk, AttentionMask mask) {
    }

    private List<Block> blocksFor(int nq, int nk, AttentionMask mask) {
        PlanKey key = new PlanKey(nq, nk, mask);
        synchronized (plans) {
            List<Block> plan = plans.get(key);
            if (plan != null) {
                return plan;
            }
        }
        List<Block> plan = plan(nq, nk, mask); // outside the lock: two threads may both plan, with equal results
        synchronized (plans) {
            plans.put(key, plan);
        }
        return plan;
    }

    private static java.util.List<Block> plan(int nq, int nk, AttentionMask mask) {
        int text = Math.min(mask.textLength(), nk);
        java.util.List<int[]> ranges = new java.util.ArrayList<>();
        int q = 0;
        if (mask.queriesIncludeText() && mask.textLength() > 0) {
            ranges.add(new int[] {0, Math.min(nq, mask.textLength())});
            q = Math.min(nq, mask.textLength());
        }
        int fl = mask.frameLength();
        while (q < nq) {
            int frame = mask.queryPosition(q) / fl;
            int end = q;
            while (end < nq && mask.queryPosition(end) / fl == frame) {
                end++;
            }
            ranges.add(new int[] {q, end});
            q = end;
        }
        java.util.List<Block> blocks = new java.util.ArrayList<>();
        for (int[] r : ranges) {
            int lo = Integer.MAX_VALUE;
            int hi = -1;
            for (int qi = r[0]; qi < r[1]; qi++) {
                for (int kj = text; kj < nk; kj++) {
                    if (mask.visible(qi, kj)) {
                        lo = Math.min(lo, kj);
                        hi = Math.max(hi, kj + 1);
                    }
                }
            }
            if (hi < 0) {
                lo = text;
                hi = text;
            }
            int cols = text + (hi - lo);
            float[] bias = new float[(r[1] - r[0]) * cols];
            for (int qi = r[0]; qi < r[1]; qi++) {
                int row = (qi - r[0]) * cols;
                for (int kj = 0; kj < text; kj++) {
                    bias[row + kj] = mask.visible(qi, kj) ? mask.textBoost() : Float.NEGATIVE_INFINITY;
                }
                for (int kj = lo; kj < hi; kj++) {
                    bias[row + text + kj - lo] = mask.visible(qi, kj) ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
            int[] ends = new int[r[1] - r[0]];
            for (int qi = 0; qi < ends.length; qi++) {
                int end = cols;
                while (end > 0 && bias[qi * cols + end - 1] == Float.NEGATIVE_INFINITY) {
                    end--;
                }
                ends[qi] = end;
            }
            float[] keep = null;
            for (int qi = 0; qi < ends.length && keep == null; qi++) {
                for (int c = 0; c < ends[qi]; c++) {
                    if (bias[qi * cols + c] == Float.NEGATIVE_INFINITY) {
                        keep = new float[bias.length];
                        break;
                    }
                }
            }
            if (keep != null) {
                for (int i = 0; i < bias.length; i++) {
                    keep[i] = bias[i] == Float.NEGATIVE_INFINITY ? 0f : 1f;
                }
            }
            blocks.add(new Block(r[0], r[1], text, lo, hi, bias, ends, keep));
        }
        return List.copyOf(blocks);
    }
}
