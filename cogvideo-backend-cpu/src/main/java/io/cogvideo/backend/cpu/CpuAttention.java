package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import java.util.List;

/**
 * Attention on the CPU: per batch row and head, {@code softmax(q kᵀ / sqrt(d) + bias) v} with GEMMs, where the
 * additive bias (0, {@code -inf} for invisible pairs, {@code + textBoost} on text keys) is evaluated from the
 * structured {@link AttentionMask} once per call and shared by all heads.
 */
final class CpuAttention {
    private CpuAttention() {
    }

    static INDArray attention(INDArray q, INDArray k, INDArray v, int keyLength, AttentionMask mask) {
        int batch = (int) q.size(0);
        int nq = (int) q.size(1);
        int width = (int) q.size(2);
        int heads = mask.heads();
        int d = width / heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        java.util.List<Block> blocks = blocksFor(nq, keyLength, mask);
        INDArray out = Nd4j.create(DataType.FLOAT, batch, nq, width);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                var cols = NDArrayIndex.interval(h * d, (h + 1) * d);
                for (Block blk : blocks) {
                    var rows = NDArrayIndex.interval(blk.q0, blk.q1);
                    INDArray qh = q.get(NDArrayIndex.point(b), rows, cols);
                    INDArray kh = keys(k, b, cols, blk);
                    INDArray vh = keys(v, b, cols, blk);
                    INDArray s = qh.mmul(kh.transpose()).muli(scale).addi(blk.bias); // [rows, keys]
                    INDArray max = s.max(true, 1);
                    s.subiColumnVector(max);
                    Transforms.exp(s, false);
                    INDArray sum = s.sum(true, 1);
                    s.diviColumnVector(sum);
                    out.get(NDArrayIndex.point(b), rows, cols).assign(s.mmul(vh)); // [rows, d]
                }
            }
        }
        return out;
    }

    /** The key rows a block attends to: text rows {@code [0, text)} and frame rows {@code [lo, hi)}. */
    private static INDArray keys(INDArray k, int b, org.nd4j.linalg.indexing.INDArrayIndex cols, Block blk) {
        if (blk.lo == blk.text) {
            return k.get(NDArrayIndex.point(b), NDArrayIndex.interval(0, blk.hi), cols);
        }
        INDArray text = k.get(NDArrayIndex.point(b), NDArrayIndex.interval(0, blk.text), cols);
        if (blk.hi == blk.lo) {
            return text;
        }
        INDArray frames = k.get(NDArrayIndex.point(b), NDArrayIndex.interval(blk.lo, blk.hi), cols);
        return blk.text == 0 ? frames : Nd4j.concat(0, text.dup('c'), frames.dup('c'));
    }

    /**
     * A block of query rows (the text rows, or the rows of one frame) with the key rows any of them can see: the
     * text, then one contiguous run of frame keys. The spatial channel then costs (text + one frame) per query rather
     * than the whole sequence, the causal temporal channel only what precedes the block.
     */
    private record Block(int q0, int q1, int text, int lo, int hi, INDArray bias) {
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
            blocks.add(new Block(r[0], r[1], text, lo, hi,
                    Nd4j.createFromArray(bias).reshape('c', new long[] {r[1] - r[0], cols})));
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
