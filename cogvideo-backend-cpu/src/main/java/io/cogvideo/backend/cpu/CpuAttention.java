package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

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
        INDArray bias = biasFor(nq, keyLength, mask);
        INDArray out = Nd4j.create(DataType.FLOAT, batch, nq, width);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                var cols = NDArrayIndex.interval(h * d, (h + 1) * d);
                INDArray qh = q.get(NDArrayIndex.point(b), NDArrayIndex.all(), cols);
                INDArray kh = k.get(NDArrayIndex.point(b), NDArrayIndex.interval(0, keyLength), cols);
                INDArray vh = v.get(NDArrayIndex.point(b), NDArrayIndex.interval(0, keyLength), cols);
                INDArray s = qh.mmul(kh.transpose()).muli(scale).addi(bias); // [nq, nk]
                INDArray max = s.max(true, 1);
                s.subiColumnVector(max);
                Transforms.exp(s, false);
                INDArray sum = s.sum(true, 1);
                s.diviColumnVector(sum);
                INDArray o = s.mmul(vh); // [nq, d]
                out.get(NDArrayIndex.point(b), NDArrayIndex.all(), cols).assign(o);
            }
        }
        return out;
    }

    private record BiasKey(int nq, int nk, AttentionMask mask) {
    }

    /** Every layer of a pass uses the same masks: keep the last few evaluated biases. */
    private static final java.util.Map<BiasKey, INDArray> BIASES = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(8, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<BiasKey, INDArray> e) {
                    return size() > 6;
                }
            });

    private static INDArray biasFor(int nq, int nk, AttentionMask mask) {
        BiasKey key = new BiasKey(nq, nk, mask);
        INDArray b = BIASES.get(key);
        if (b == null) {
            b = Nd4j.createFromArray(maskBias(nq, nk, mask)).reshape('c', new long[] {nq, nk});
            BIASES.put(key, b);
        }
        return b;
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
