package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;
import java.util.List;

/**
 * Attention over many query rows (the uncached pass) on heap arrays: per batch row, head and block of query rows
 * (the text, or one frame), {@code softmax(q kᵀ / sqrt(d) + bias) v} with two OpenBLAS GEMMs over only the keys the
 * block can see (the text and one contiguous run of frame keys, from the structured {@link AttentionMask}), and the
 * masked softmax in Java between them. No ND4J arrays, no off-heap allocation.
 */
final class CpuAttention {
    private CpuAttention() {
    }

    /**
     * @param q [batch, nq, width]; k, v [batch, kRows, width] of which the first {@code nk} rows are keys
     * @return [batch, nq, width]
     */
    static float[] attention(float[] q, float[] k, float[] v, int batch, int nq, int kRows, int nk, int width,
            AttentionMask mask, CpuThreads threads) {
        int heads = mask.heads();
        int d = width / heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        List<Block> blocks = blocksFor(nq, nk, mask);
        float[] out = new float[batch * nq * width];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int col = h * d;
                int kBase = b * kRows * width + col;
                for (Block blk : blocks) {
                    int rows = blk.q1 - blk.q0;
                    int frames = blk.hi - blk.lo;
                    int cols = blk.text + frames;
                    if (cols == 0) {
                        continue;
                    }
                    float[] qh = new float[rows * d];
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(q, (b * nq + blk.q0 + r) * width + col, qh, r * d, d);
                    }
                    float[] kh = new float[cols * d];
                    float[] vh = new float[cols * d];
                    for (int c = 0; c < cols; c++) {
                        int row = c < blk.text ? c : blk.lo + (c - blk.text);
                        System.arraycopy(k, kBase + row * width, kh, c * d, d);
                        System.arraycopy(v, kBase + row * width, vh, c * d, d);
                    }
                    float[] s = new float[rows * cols];
                    Blas.sgemm(rows, cols, d, scale, qh, kh, true, 0f, s); // [rows, cols] = q kᵀ / sqrt(d)
                    softmaxRows(s, rows, cols, blk.bias, threads);
                    float[] o = new float[rows * d];
                    Blas.sgemm(rows, d, cols, 1f, s, vh, false, 0f, o); // [rows, d]
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(o, r * d, out, (b * nq + blk.q0 + r) * width + col, d);
                    }
                }
            }
        }
        return out;
    }

    /** In place: {@code s[r, :] = softmax(s[r, :] + bias[r, :])}; a row with no visible key becomes zeros. */
    static void softmaxRows(float[] s, int rows, int cols, float[] bias, CpuThreads threads) {
        int parts = (long) rows * cols >= (1 << 15) ? Math.min(rows, threads.count() * 4) : 1;
        threads.forRange(0, parts, part -> {
            int r0 = (int) ((long) rows * part / parts);
            int r1 = (int) ((long) rows * (part + 1) / parts);
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                float max = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < cols; c++) {
                    float x = s[o + c] + bias[o + c];
                    s[o + c] = x;
                    max = Math.max(max, x);
                }
                if (max == Float.NEGATIVE_INFINITY) {
                    java.util.Arrays.fill(s, o, o + cols, 0f);
                    continue;
                }
                float sum = 0;
                for (int c = 0; c < cols; c++) {
                    float e = (float) Math.exp(s[o + c] - max);
                    s[o + c] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int c = 0; c < cols; c++) {
                    s[o + c] *= inv;
                }
            }
        });
    }

    /**
     * A block of query rows (the text rows, or the rows of one frame) with the key rows any of them can see: the
     * text, then one contiguous run of frame keys. The spatial channel then costs (text + one frame) per query rather
     * than the whole sequence, the causal temporal channel only what precedes the block.
     */
    private record Block(int q0, int q1, int text, int lo, int hi, float[] bias) {
    }

    private record BiasKey(int nq, int nk, AttentionMask mask) {
    }

    /** Every layer of a pass uses the same masks: keep the last few block plans. */
    private static final java.util.Map<BiasKey, java.util.List<Block>> PLANS = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(8, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<BiasKey, java.util.List<Block>> e) {
                    return size() > 6;
                }
            });

    private static java.util.List<Block> blocksFor(int nq, int nk, AttentionMask mask) {
        BiasKey key = new BiasKey(nq, nk, mask);
        java.util.List<Block> plan = PLANS.get(key);
        if (plan == null) {
            plan = plan(nq, nk, mask);
            PLANS.put(key, plan);
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
            blocks.add(new Block(r[0], r[1], text, lo, hi, bias));
        }
        return List.copyOf(blocks);
    }

    /** Row-major [nq, nk] additive bias evaluated from the structured mask. */
    static float[] maskBias(int nq, int nk, AttentionMask mask) {
        float[] bias = new float[nq * nk];
        int text = Math.min(mask.textLength(), nk);
        float boost = mask.textBoost();
        for (int qi = 0; qi < nq; qi++) {
            int row = qi * nk;
            for (int kj = 0; kj < text; kj++) {
                bias[row + kj] = mask.visible(qi, kj) ? boost : Float.NEGATIVE_INFINITY;
            }
            for (int kj = text; kj < nk; kj++) {
                bias[row + kj] = mask.visible(qi, kj) ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        return bias;
    }
}
