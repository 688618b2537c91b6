package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TrainingOps;
import io.cogvideo.training.TrainingKernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CPU backend's {@link TrainingOps}: float32 kernels directly on the {@link CpuTensor} heap arrays (no
 * {@code toFloats} copies), with OpenBLAS float32 GEMMs for the linear backward ({@code dX = dY · W},
 * {@code dW = dYᵀ · X}), the tied-head cross-entropy and the attention tiles, and the backend's {@link CpuThreads}
 * for the element-wise and per-head loops.
 *
 * <p><b>Attention</b> runs flash-style over only the visible keys: the query rows are cut into blocks of at most
 * {@value #QUERY_BLOCK} rows that share a group (the text; one frame for {@code OWN_FRAME}; one spatial window for
 * {@code WINDOW}, queries reordered by window), each block gathers the union of the keys its rows see, and the scores,
 * probabilities and products of the block are GEMMs over that union, with the {@link AttentionMask} rules (the
 * training interpolation pattern included) applied from the per-query visible-key lists. The backward recomputes the
 * probabilities from the forward's log-sum-exp. Heads run in parallel (each owns its columns of q, k, v and their
 * gradients), the blocks of a head in order, so results do not depend on the thread count.
 *
 * <p><b>Precision.</b> Products are float32 (OpenBLAS accumulates in float32 registers); every reduction outside a
 * GEMM (softmax sums and log-sum-exp, LayerNorm statistics, bias, γ, β and mix-logit gradients, scatter-adds and the
 * cross-head accumulation of dK, dV) runs in double.
 *
 * <p>Like every pack it assumes well-formed inputs ({@code CheckedBackend} validates them first).
 */
final class CpuTrainingOps implements TrainingOps {
    /** Query rows per attention block. */
    static final int QUERY_BLOCK = 64;
    /** Rows per block of the cross-entropy (the block's logits are rows x V floats). */
    static final int CE_BLOCK = 256;
    /** Attention plans kept (a stage uses two masks per layer, the same in every layer). */
    private static final int PLANS_KEPT = 6;

    private final CpuThreads threads;
    private final int blasThreads;
    private final Map<PlanKey, Plan> plans = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<PlanKey, Plan> e) {
            return size() > PLANS_KEPT;
        }
    };

    CpuTrainingOps(CpuThreads threads, int blasThreads) {
        this.threads = threads;
        this.blasThreads = blasThreads;
    }

    private static CpuTensor t(Tensor x) {
        return (CpuTensor) x;
    }

    /** The float32 row-major values (a float16 tensor's cached widened copy). */
    private static float[] values(Tensor x) {
        return t(x).heap();
    }

    private static int rows(CpuTensor x) {
        return x.numel() / x.shape[x.shape.length - 1];
    }

    /** {@code [from, to)} split over the workers in at most {@code 4 x threads} contiguous parts. */
    private void parts(int n, CpuThreads.Range body) {
        threads.forParts(n, Math.max(1, Math.min(threads.count() * 4, n / 1024 + 1)), body);
    }

    // ---------------------------------------------------------------- dense

    @Override
    public Tensor gatherRowsBackward(Tensor dOut, int[] rows, int tableRows) {
        CpuTensor g = t(dOut); // [B, n, h]
        int h = g.shape[g.shape.length - 1];
        float[] src = g.heap();
        double[] acc = new double[tableRows * h];
        for (int i = 0; i < rows.length; i++) {
            int s = i * h;
            int d = rows[i] * h;
            for (int c = 0; c < h; c++) {
                acc[d + c] += src[s + c];
            }
        }
        return new CpuTensor(new int[] {tableRows, h}, narrow(acc));
    }

    @Override
    public LinearGrads linearBackward(Tensor x, Tensor weight, Tensor dY, boolean weightGrads, boolean hasBias) {
        CpuTensor xt = t(x); // [B, n, in]
        CpuTensor w = t(weight); // [out, in] (stored [in, out] when uploaded as a linear weight)
        int out = w.shape[0];
        int in = w.shape[1];
        int n = rows(xt);
        float[] dy = values(dY); // [n, out]
        Blas.useThreads(blasThreads);
        float[] dx = new float[n * in];
        float[] wT = w.isHalf() ? null : w.heapTIfPresent();
        if (wT != null) {
            Blas.sgemm(false, true, n, in, out, 1f, dy, wT, 0f, dx); // dY [n, out] · (wT [in, out])ᵀ
        } else {
            Blas.sgemm(false, false, n, in, out, 1f, dy, w.heap(), 0f, dx); // dY [n, out] · W [out, in]
        }
        Tensor dX = new CpuTensor(xt.shape.clone(), dx);
        if (!weightGrads) {
            return new LinearGrads(dX, null, null);
        }
        float[] dw = new float[out * in];
        Blas.sgemm(true, false, out, in, n, 1f, dy, xt.heap(), 0f, dw); // dYᵀ [out, n] · X [n, in]
        Tensor dB = null;
        if (hasBias) {
            dB = new CpuTensor(new int[] {out}, columnSums(dy, n, out));
        }
        return new LinearGrads(dX, new CpuTensor(new int[] {out, in}, dw), dB);
    }

    /** {@code Σ_rows a[row, c]} in double, columns split over the workers. */
    private float[] columnSums(float[] a, int n, int cols) {
        float[] s = new float[cols];
        threads.forParts(cols, threads.count(), (c0, c1) -> {
            double[] acc = new double[c1 - c0];
            for (int i = 0; i < n; i++) {
                int o = i * cols;
                for (int c = c0; c < c1; c++) {
                    acc[c - c0] += a[o + c];
                }
            }
            for (int c = c0; c < c1; c++) {
                s[c] = (float) acc[c - c0];
            }
        });
        return s;
    }

    // ---------------------------------------------------------------- layer norm, gelu, mix, dropout

    @Override
    public LayerNormGrads layerNormBackward(Tensor x, Tensor gamma, Tensor dY, float eps) {
        CpuTensor xt = t(x);
        int h = xt.shape[xt.shape.length - 1];
        int n = rows(xt);
        float[] xs = xt.heap();
        float[] g = values(gamma);
        float[] dy = values(dY);
        float[] dx = new float[xs.length];
        double[] mean = new double[n];
        double[] rstd = new double[n];
        threads.forParts(n, Math.max(1, Math.min(threads.count() * 4, n)), (r0, r1) -> {
            for (int i = r0; i < r1; i++) {
                int o = i * h;
                double m = 0;
                for (int c = 0; c < h; c++) {
                    m += xs[o + c];
                }
                m /= h;
                double var = 0;
                for (int c = 0; c < h; c++) {
                    double dd = xs[o + c] - m;
                    var += dd * dd;
                }
                var /= h;
                double rs = 1 / Math.sqrt(var + eps);
                mean[i] = m;
                rstd[i] = rs;
                double mg = 0;
                double mgx = 0;
                for (int c = 0; c < h; c++) {
                    double gg = (double) dy[o + c] * g[c];
                    mg += gg;
                    mgx += gg * ((xs[o + c] - m) * rs);
                }
                mg /= h;
                mgx /= h;
                for (int c = 0; c < h; c++) {
                    double xh = (xs[o + c] - m) * rs;
                    dx[o + c] = (float) (rs * ((double) dy[o + c] * g[c] - mg - xh * mgx));
                }
            }
        });
        float[] dGamma = new float[h];
        float[] dBeta = new float[h];
        threads.forParts(h, threads.count(), (c0, c1) -> {
            double[] dg = new double[c1 - c0];
            double[] db = new double[c1 - c0];
            for (int i = 0; i < n; i++) {
                int o = i * h;
                double m = mean[i];
                double rs = rstd[i];
                for (int c = c0; c < c1; c++) {
                    double d = dy[o + c];
                    dg[c - c0] += d * ((xs[o + c] - m) * rs);
                    db[c - c0] += d;
                }
            }
            for (int c = c0; c < c1; c++) {
                dGamma[c] = (float) dg[c - c0];
                dBeta[c] = (float) db[c - c0];
            }
        });
        return new LayerNormGrads(new CpuTensor(xt.shape.clone(), dx), new CpuTensor(new int[] {h}, dGamma),
                new CpuTensor(new int[] {h}, dBeta));
    }

    @Override
    public Tensor geluBackward(Tensor x, Tensor dY) {
        CpuTensor xt = t(x);
        float[] xs = xt.heap();
        float[] dy = values(dY);
        float[] dx = new float[xs.length];
        final double c0 = 0.7978845608028654; // sqrt(2 / pi)
        final double a = 0.044715;
        parts(xs.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                double v = xs[i];
                double th = Math.tanh(c0 * (v + a * v * v * v));
                double d = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * c0 * (1 + 3 * a * v * v);
                dx[i] = (float) (dy[i] * d);
            }
        });
        return new CpuTensor(xt.shape.clone(), dx);
    }

    @Override
    public ChannelMixGrads channelMixBackward(Tensor base, Tensor plus, Tensor mixLogits, Tensor dOut) {
        CpuTensor bt = t(base); // [B, n, h]
        float[] bs = bt.heap();
        float[] ps = values(plus);
        float[] a = values(mixLogits); // [h]
        float[] g = values(dOut);
        int h = a.length;
        int n = bs.length / h;
        double[] s = new double[h];
        for (int c = 0; c < h; c++) {
            s[c] = TrainingKernels.sigmoid(a[c]);
        }
        float[] dBase = new float[bs.length];
        float[] dPlus = new float[bs.length];
        float[] dA = new float[h];
        threads.forParts(h, threads.count(), (c0, c1) -> {
            double[] acc = new double[c1 - c0];
            for (int i = 0; i < n; i++) {
                int o = i * h;
                for (int c = c0; c < c1; c++) {
                    double sc = s[c];
                    double gi = g[o + c];
                    dBase[o + c] = (float) (sc * gi);
                    dPlus[o + c] = (float) ((1 - sc) * gi);
                    acc[c - c0] += gi * ((double) bs[o + c] - ps[o + c]) * sc * (1 - sc);
                }
            }
            for (int c = c0; c < c1; c++) {
                dA[c] = (float) acc[c - c0];
            }
        });
        return new ChannelMixGrads(new CpuTensor(bt.shape.clone(), dBase),
                new CpuTensor(t(plus).shape.clone(), dPlus), new CpuTensor(new int[] {h}, dA));
    }

    @Override
    public Tensor dropout(Tensor x, Dropout dropout) {
        CpuTensor xt = t(x);
        float[] xs = xt.heap();
        if (!dropout.active()) {
            return new CpuTensor(xt.shape.clone(), xs.clone());
        }
        float[] y = new float[xs.length];
        double rate = dropout.rate();
        long seed = dropout.seed();
        parts(xs.length, (from, to) -> {
            for (int i = from; i < to; i++) {
                y[i] = (float) (xs[i] * TrainingKernels.dropoutScale(rate, seed, i));
            }
        });
        return new CpuTensor(xt.shape.clone(), y);
    }

    // ---------------------------------------------------------------- tied head

    @Override
    public CrossEntropy crossEntropy(Tensor x, Tensor head, int[] labels, float[] weights) {
        CpuTensor xt = t(x); // [B, n, h]
        int h = xt.shape[xt.shape.length - 1];
        int n = rows(xt);
        float[] xs = xt.heap();
        float[] hd = values(head); // [V, h]
        int vocab = hd.length / h;
        double[] losses = new double[n];
        float[] dx = new float[n * h];
        float[] dHead = new float[vocab * h];
        for (int s0 = 0; s0 < n; s0 += CE_BLOCK) {
            final int start = s0;
            final int nb = Math.min(CE_BLOCK, n - s0);
            float[] xb = Arrays.copyOfRange(xs, start * h, (start + nb) * h); // [nb, h]
            float[] logits = new float[nb * vocab];
            Blas.useThreads(blasThreads);
            Blas.sgemm(false, true, nb, vocab, h, 1f, xb, hd, 0f, logits); // x · headᵀ
            boolean[] any = new boolean[1];
            threads.forRange(0, nb, bi -> {
                int i = start + bi;
                int o = bi * vocab;
                double max = Double.NEGATIVE_INFINITY;
                for (int r = 0; r < vocab; r++) {
                    max = Math.max(max, logits[o + r]);
                }
                double labelLogit = logits[o + labels[i]];
                double sum = 0;
                for (int r = 0; r < vocab; r++) {
                    double e = Math.exp(logits[o + r] - max);
                    sum += e;
                    logits[o + r] = (float) e; // the logits become exp(logit - max)
                }
                losses[i] = max + Math.log(sum) - labelLogit;
                double w = weights[i];
                if (w == 0) {
                    Arrays.fill(logits, o, o + vocab, 0f);
                    return;
                }
                any[0] = true; // benign race: every writer writes true
                float f = (float) (w / sum);
                for (int r = 0; r < vocab; r++) {
                    logits[o + r] *= f; // w softmax
                }
                logits[o + labels[i]] = (float) (Math.exp(labelLogit - max) * (w / sum) - w);
            });
            if (!any[0]) {
                continue;
            }
            Blas.useThreads(blasThreads);
            float[] dxb = new float[nb * h];
            Blas.sgemm(false, false, nb, h, vocab, 1f, logits, hd, 0f, dxb); // dlogits · head
            System.arraycopy(dxb, 0, dx, start * h, nb * h);
            Blas.sgemm(true, false, vocab, h, nb, 1f, logits, xb, 1f, dHead); // += dlogitsᵀ · x
        }
        return new CrossEntropy(losses, new CpuTensor(xt.shape.clone(), dx),
                new CpuTensor(new int[] {vocab, h}, dHead));
    }

    // ---------------------------------------------------------------- attention

    /** Cache key of a plan: the mask and the row counts. */
    private record PlanKey(AttentionMask mask, int nq, int nk) {
    }

    /**
     * The blocks of an attention call.
     *
     * @param keys   per query row, the key rows it sees (ascending)
     * @param blocks the query blocks
     */
    private record Plan(int[][] keys, List<QueryBlock> blocks) {
    }

    /**
     * A block of query rows and the union of the keys they see.
     *
     * @param queries query rows (the order of the block's GEMM rows)
     * @param keys    ascending union of their visible key rows
     * @param local   per query of the block, the indices into {@code keys} of its visible keys
     */
    private record QueryBlock(int[] queries, int[] keys, int[][] local) {
    }

    private Plan plan(AttentionMask mask, int nq, int nk) {
        PlanKey key = new PlanKey(mask, nq, nk);
        synchronized (plans) {
            Plan p = plans.get(key);
            if (p != null) {
                return p;
            }
        }
        Plan p = buildPlan(mask, nq, nk);
        synchronized (plans) {
            plans.put(key, p);
        }
        return p;
    }

    private Plan buildPlan(AttentionMask mask, int nq, int nk) {
        int[][] keys = new int[nq][];
        threads.forParts(nq, Math.max(1, Math.min(threads.count() * 4, nq)), (q0, q1) -> {
            int[] buf = new int[nk];
            for (int qi = q0; qi < q1; qi++) {
                int c = 0;
                for (int kj = 0; kj < nk; kj++) {
                    if (mask.visible(qi, kj)) {
                        buf[c++] = kj;
                    }
                }
                keys[qi] = Arrays.copyOf(buf, c);
            }
        });
        // group of a query row: text rows first, then by frame (OWN_FRAME), window (WINDOW) or one group
        long[] order = new long[nq];
        for (int qi = 0; qi < nq; qi++) {
            long group;
            if (mask.isTextQuery(qi)) {
                group = 0;
            } else {
                int p = mask.queryPosition(qi);
                group = 1 + switch (mask.scope()) {
                    case OWN_FRAME -> p / mask.frameLength();
                    case WINDOW -> mask.windowId(p);
                    case ALL_FRAMES -> 0;
                };
            }
            order[qi] = (group << 32) | qi;
        }
        Arrays.sort(order);
        List<QueryBlock> blocks = new ArrayList<>();
        int[] localIndex = new int[nk];
        boolean[] mark = new boolean[nk];
        int i = 0;
        while (i < nq) {
            long group = order[i] >>> 32;
            int j = i;
            while (j < nq && j - i < QUERY_BLOCK && (order[j] >>> 32) == group) {
                j++;
            }
            int[] qs = new int[j - i];
            for (int b = i; b < j; b++) {
                qs[b - i] = (int) order[b];
            }
            for (int q : qs) {
                for (int k : keys[q]) {
                    mark[k] = true;
                }
            }
            int u = 0;
            for (int k = 0; k < nk; k++) {
                if (mark[k]) {
                    localIndex[k] = u++;
                }
            }
            int[] union = new int[u];
            for (int k = 0, c = 0; k < nk; k++) {
                if (mark[k]) {
                    union[c++] = k;
                    mark[k] = false;
                }
            }
            int[][] local = new int[qs.length][];
            for (int b = 0; b < qs.length; b++) {
                int[] ks = keys[qs[b]];
                int[] l = new int[ks.length];
                for (int c = 0; c < ks.length; c++) {
                    l[c] = localIndex[ks[c]];
                }
                local[b] = l;
            }
            blocks.add(new QueryBlock(qs, union, local));
            i = j;
        }
        return new Plan(keys, blocks);
    }

    /** Copies columns {@code [col, col + d)} of the given rows of {@code src} ([.., width]) into a [rows, d] array. */
    private static float[] gather(float[] src, int rowBase, int[] rows, int width, int col, int d) {
        float[] out = new float[rows.length * d];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(src, (rowBase + rows[r]) * width + col, out, r * d, d);
        }
        return out;
    }

    @Override
    public AttentionForward attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout) {
        CpuTensor qt = t(q); // [B, nq, width]
        int batch = qt.shape[0];
        int nq = qt.shape[1];
        int width = qt.shape[2];
        int nk = t(k).shape[1];
        int heads = mask.heads();
        int d = width / heads;
        float scale = (float) (1 / Math.sqrt(d));
        float[] qs = qt.heap();
        float[] ks = values(k);
        float[] vs = values(v);
        Plan plan = plan(mask, nq, nk);
        float[] out = new float[batch * nq * width];
        float[] lse = new float[batch * heads * nq];
        double rate = dropout.rate();
        long seed = dropout.seed();
        int textLength = mask.textLength();
        double boost = mask.textBoost();
        Blas.useThreads(1); // GEMMs of one block run inside the parallel loop over heads
        try {
            threads.forRange(0, batch * heads, bh -> {
                int b = bh / heads;
                int col = (bh % heads) * d;
                for (QueryBlock blk : plan.blocks()) {
                    int bq = blk.queries().length;
                    int u = blk.keys().length;
                    if (u == 0) {
                        for (int qi : blk.queries()) {
                            lse[bh * nq + qi] = Float.NEGATIVE_INFINITY;
                        }
                        continue;
                    }
                    float[] qb = gather(qs, b * nq, blk.queries(), width, col, d); // [bq, d]
                    float[] kc = gather(ks, b * nk, blk.keys(), width, col, d); // [u, d]
                    float[] vc = gather(vs, b * nk, blk.keys(), width, col, d); // [u, d]
                    float[] s = new float[bq * u];
                    Blas.sgemm(false, true, bq, u, d, scale, qb, kc, 0f, s); // q kᵀ / sqrt(d)
                    float[] p = new float[bq * u];
                    double[] inv = new double[bq];
                    for (int r = 0; r < bq; r++) {
                        int qi = blk.queries()[r];
                        int[] loc = blk.local()[r];
                        if (loc.length == 0) {
                            lse[bh * nq + qi] = Float.NEGATIVE_INFINITY;
                            continue;
                        }
                        int o = r * u;
                        double max = Double.NEGATIVE_INFINITY;
                        for (int li : loc) {
                            double sc = s[o + li] + (blk.keys()[li] < textLength ? boost : 0);
                            s[o + li] = (float) sc;
                            max = Math.max(max, sc);
                        }
                        double sum = 0;
                        long dropBase = ((long) bh * nq + qi) * nk;
                        for (int li : loc) {
                            double e = Math.exp(s[o + li] - max);
                            sum += e;
                            p[o + li] = (float) (e * TrainingKernels.dropoutScale(rate, seed,
                                    dropBase + blk.keys()[li]));
                        }
                        lse[bh * nq + qi] = (float) (max + Math.log(sum));
                        inv[r] = 1 / sum;
                    }
                    float[] ob = new float[bq * d];
                    Blas.sgemm(false, false, bq, d, u, 1f, p, vc, 0f, ob); // p v
                    for (int r = 0; r < bq; r++) {
                        int dst = (b * nq + blk.queries()[r]) * width + col;
                        double f = inv[r];
                        for (int c = 0; c < d; c++) {
                            out[dst + c] = (float) (ob[r * d + c] * f);
                        }
                    }
                }
            });
        } finally {
            Blas.useThreads(blasThreads);
        }
        return new AttentionForward(new CpuTensor(qt.shape.clone(), out),
                new CpuTensor(new int[] {batch, heads, nq}, lse));
    }

    @Override
    public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout,
            AttentionForward forward, Tensor dOut) {
        CpuTensor qt = t(q); // [B, nq, width]
        CpuTensor kt = t(k); // [B, nk, width]
        int batch = qt.shape[0];
        int nq = qt.shape[1];
        int width = qt.shape[2];
        int nk = kt.shape[1];
        int heads = mask.heads();
        int d = width / heads;
        float scale = (float) (1 / Math.sqrt(d));
        float[] qs = qt.heap();
        float[] ks = kt.heap();
        float[] vs = values(v);
        float[] os = values(forward.out());
        float[] lse = values(forward.logSumExp()); // [B, heads, nq]
        float[] dos = values(dOut);
        Plan plan = plan(mask, nq, nk);
        float[] dq = new float[batch * nq * width];
        float[] dk = new float[batch * nk * width];
        float[] dv = new float[batch * nk * width];
        double rate = dropout.rate();
        long seed = dropout.seed();
        int textLength = mask.textLength();
        double boost = mask.textBoost();
        Blas.useThreads(1);
        try {
            threads.forRange(0, batch * heads, bh -> {
                int b = bh / heads;
                int col = (bh % heads) * d;
                double[] dkAcc = new double[nk * d];
                double[] dvAcc = new double[nk * d];
                for (QueryBlock blk : plan.blocks()) {
                    int bq = blk.queries().length;
                    int u = blk.keys().length;
                    if (u == 0) {
                        continue;
                    }
                    float[] qb = gather(qs, b * nq, blk.queries(), width, col, d); // [bq, d]
                    float[] dob = gather(dos, b * nq, blk.queries(), width, col, d); // [bq, d]
                    float[] kc = gather(ks, b * nk, blk.keys(), width, col, d); // [u, d]
                    float[] vc = gather(vs, b * nk, blk.keys(), width, col, d); // [u, d]
                    float[] s = new float[bq * u];
                    Blas.sgemm(false, true, bq, u, d, scale, qb, kc, 0f, s); // scores
                    float[] dp = new float[bq * u];
                    Blas.sgemm(false, true, bq, u, d, 1f, dob, vc, 0f, dp); // dO vᵀ
                    float[] pm = new float[bq * u]; // dropped probabilities
                    float[] ds = dp; // dS overwrites dP (0 where not visible)
                    float[] dsRow = new float[u];
                    for (int r = 0; r < bq; r++) {
                        int qi = blk.queries()[r];
                        int[] loc = blk.local()[r];
                        int o = r * u;
                        if (loc.length == 0) {
                            Arrays.fill(ds, o, o + u, 0f);
                            continue;
                        }
                        int oo = (b * nq + qi) * width + col;
                        double di = 0;
                        for (int c = 0; c < d; c++) {
                            di += (double) dos[oo + c] * os[oo + c];
                        }
                        double rowLse = lse[bh * nq + qi];
                        long dropBase = ((long) bh * nq + qi) * nk;
                        Arrays.fill(dsRow, 0f);
                        for (int li : loc) {
                            int kj = blk.keys()[li];
                            double sc = s[o + li] + (kj < textLength ? boost : 0);
                            double pr = Math.exp(sc - rowLse);
                            double m = TrainingKernels.dropoutScale(rate, seed, dropBase + kj);
                            pm[o + li] = (float) (pr * m);
                            dsRow[li] = (float) (pr * (m * dp[o + li] - di) * scale);
                        }
                        System.arraycopy(dsRow, 0, ds, o, u);
                    }
                    float[] dvc = new float[u * d];
                    Blas.sgemm(true, false, u, d, bq, 1f, pm, dob, 0f, dvc); // pmᵀ dO
                    float[] dkc = new float[u * d];
                    Blas.sgemm(true, false, u, d, bq, 1f, ds, qb, 0f, dkc); // dSᵀ q
                    float[] dqb = new float[bq * d];
                    Blas.sgemm(false, false, bq, d, u, 1f, ds, kc, 0f, dqb); // dS k
                    for (int j = 0; j < u; j++) {
                        int a = blk.keys()[j] * d;
                        for (int c = 0; c < d; c++) {
                            dkAcc[a + c] += dkc[j * d + c];
                            dvAcc[a + c] += dvc[j * d + c];
                        }
                    }
                    for (int r = 0; r < bq; r++) {
                        System.arraycopy(dqb, r * d, dq, (b * nq + blk.queries()[r]) * width + col, d);
                    }
                }
                for (int j = 0; j < nk; j++) {
                    int dst = (b * nk + j) * width + col;
                    for (int c = 0; c < d; c++) {
                        dk[dst + c] = (float) dkAcc[j * d + c];
                        dv[dst + c] = (float) dvAcc[j * d + c];
                    }
                }
            });
        } finally {
            Blas.useThreads(blasThreads);
        }
        return new AttentionGrads(new CpuTensor(qt.shape.clone(), dq), new CpuTensor(kt.shape.clone(), dk),
                new CpuTensor(t(v).shape.clone(), dv));
    }

    /** Drops the cached attention plans. */
    void clear() {
        synchronized (plans) {
            plans.clear();
        }
    }

    private static float[] narrow(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    @Override
    public String toString() {
        return "CpuTrainingOps(" + threads.count() + " threads, OpenBLAS " + blasThreads + ")";
    }
}
