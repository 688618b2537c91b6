package io.cogvideo.spi;

import io.cogvideo.CogVideoException;

/**
 * The training op pack: the backward of every operation the CogVideo transformer uses, attention for training (with
 * the stage-2 interpolation masks the inference packs do not know), a fused cross-entropy over the tied image head,
 * and seeded dropout. Forward passes use the primitive {@link Backend} layer ({@code linear}, {@code layerNorm},
 * {@code gelu}, {@code add}, {@code gatherRows}, ...) plus {@link #attentionForward}; each backward method below
 * takes what its forward saw and the gradient of its output, and returns new tensors.
 *
 * <p>Activations are {@code [B, n, columns]} as everywhere in the SPI; weights {@code [out, in]}. Backends opt in
 * through {@link Backend#find}; {@code io.cogvideo.training.HostTrainingOps} is a plain-Java implementation for any
 * backend (through {@link Backend#toFloats} / {@link Backend#fromFloats}). The CUDA backend has no training pack.
 *
 * <p>Attention is <em>recomputed</em> flash-style: {@link #attentionForward} keeps only the output and the
 * log-sum-exp of every (query, head) row, and {@link #attentionBackward} recomputes the probabilities from them.
 * The stored state is {@code O(n * width)} instead of {@code O(heads * n^2)} probabilities (at the released
 * geometry, 2064 tokens and 48 heads, 817 MB per attention call in float32), for about one extra
 * {@code q kᵀ} product per backward.
 */
public interface TrainingOps extends OpPack {

    /**
     * Dropout as a seeded function: element {@code i} of a call is kept iff a counter-based hash of
     * {@code (seed, i)} is at least {@code rate}, and kept elements are scaled by {@code 1 / (1 - rate)}. The same
     * seed gives the same mask, so a backward pass replays the forward's mask without storing it.
     *
     * @param rate probability of dropping an element, in {@code [0, 1)}; 0 is the identity
     * @param seed any value
     */
    record Dropout(float rate, long seed) {
        /** No dropout. */
        public static final Dropout NONE = new Dropout(0f, 0L);

        public Dropout {
            if (!(rate >= 0f && rate < 1f)) {
                throw new CogVideoException("dropout rate must be in [0, 1), got " + rate);
            }
        }

        /** Whether this drops anything. */
        public boolean active() {
            return rate > 0f;
        }
    }

    /**
     * What {@link #attentionForward} keeps for the backward pass.
     *
     * @param out       [B, nq, heads * d] the attention output
     * @param logSumExp [B, heads, nq] {@code log sum_j exp(s_ij)} over the visible keys of each query row (natural
     *                  log, scores already scaled); {@code -Infinity} for a row that sees no key (its output is zero)
     */
    record AttentionForward(Tensor out, Tensor logSumExp) {
    }

    /** Gradients of an attention call with respect to its three inputs (shapes of q, k, v). */
    record AttentionGrads(Tensor dQ, Tensor dK, Tensor dV) {
    }

    /**
     * Gradients of {@code y = x · Wᵀ + b}.
     *
     * @param dX      [B, n, in]
     * @param dWeight [out, in], or {@code null} when not asked for
     * @param dBias   [out], or {@code null} when not asked for (or the layer has no bias)
     */
    record LinearGrads(Tensor dX, Tensor dWeight, Tensor dBias) {
    }

    /** Gradients of a LayerNorm: {@code dX} like x, {@code dGamma} and {@code dBeta} [h] (summed over B and n). */
    record LayerNormGrads(Tensor dX, Tensor dGamma, Tensor dBeta) {
    }

    /** Gradients of {@link FusedAttention#channelMix}: like base, like plus, and [h] for the mix logits. */
    record ChannelMixGrads(Tensor dBase, Tensor dPlus, Tensor dMixLogits) {
    }

    /**
     * The fused cross-entropy of the tied head.
     *
     * @param losses per-row cross-entropy {@code logsumexp(logits) - logits[label]}, unweighted, for every row
     *               (also those of weight 0), row-major over {@code [B, n]}
     * @param dX     [B, n, h]: {@code d(sum_i weight_i * loss_i) / dx}
     * @param dHead  [V, h]: the same sum's gradient with respect to the head
     */
    record CrossEntropy(double[] losses, Tensor dX, Tensor dHead) {
    }

    /**
     * Backward of {@link Backend#gatherRows}: the dense table gradient, {@code dTable[rows[i], :] += dOut[i, :]}
     * (scatter-add, repeated rows summed).
     *
     * @param dOut      [B, rows.length / B, h]
     * @param rows      the rows the forward gathered
     * @param tableRows rows of the table (V)
     * @return [V, h]
     */
    Tensor gatherRowsBackward(Tensor dOut, int[] rows, int tableRows);

    /**
     * Backward of {@link Backend#linear}: {@code dX = dY · W}, {@code dW = Σ dYᵀ · x}, {@code db = Σ dY}.
     *
     * @param x           [B, n, in] the forward input
     * @param weight      [out, in]
     * @param dY          [B, n, out]
     * @param weightGrads whether to compute {@code dWeight} and {@code dBias} (false for frozen layers)
     * @param hasBias     whether the layer has a bias (then {@code dBias} is computed with the weight gradient)
     */
    LinearGrads linearBackward(Tensor x, Tensor weight, Tensor dY, boolean weightGrads, boolean hasBias);

    /** Backward of {@link Backend#layerNorm} over the last dimension ({@code beta} is not needed). */
    LayerNormGrads layerNormBackward(Tensor x, Tensor gamma, Tensor dY, float eps);

    /** Backward of {@link Backend#gelu} (tanh form): {@code dY * gelu'(x)}. */
    Tensor geluBackward(Tensor x, Tensor dY);

    /** Backward of {@link FusedAttention#channelMix}, including the gradient of the {@code sigmoid(mixLogits)} gate. */
    ChannelMixGrads channelMixBackward(Tensor base, Tensor plus, Tensor mixLogits, Tensor dOut);

    /**
     * Attention for training over all key rows of {@code k} ({@code keyLength = k.dim(1)}), with every mask kind,
     * the {@linkplain AttentionMask#interpolation() interpolation} pattern included, and optional dropout of the
     * probabilities (the mask is a seeded function of batch, head, query and key row). Same scores as
     * {@link FusedAttention#attention}: {@code q kᵀ / sqrt(d)}, plus {@code textBoost} on text keys.
     *
     * @param q [B, nq, heads * d]
     * @param k [B, nk, heads * d]
     * @param v like {@code k}
     */
    AttentionForward attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout);

    /**
     * Backward of {@link #attentionForward}, recomputing the probabilities from {@code forward.logSumExp()}.
     *
     * @param forward what the forward call returned for the same q, k, v, mask and dropout
     * @param dOut    [B, nq, heads * d]
     */
    AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout,
            AttentionForward forward, Tensor dOut);

    /**
     * The loss of the tied output head, forward and backward in one call: for each row {@code i},
     * {@code logits = x_i · headᵀ} (all {@code V} rows of the head, the image tokens), the cross-entropy against
     * {@code labels[i]}, and the gradients of {@code Σ weights[i] * loss_i}. Rows of weight 0 get their loss but
     * cost no backward work.
     *
     * @param x       [B, n, h] (after the final LayerNorm)
     * @param head    [V, h]
     * @param labels  B * n labels in {@code [0, V)}
     * @param weights B * n finite weights (for CogVideo: {@code lossMask / sum(lossMask)} over the batch)
     */
    CrossEntropy crossEntropy(Tensor x, Tensor head, int[] labels, float[] weights);

    /**
     * Applies {@code dropout} to {@code x} element-wise (index {@code i} is the row-major element index of x). The
     * backward of dropout is the same call on the output gradient with the same seed.
     */
    Tensor dropout(Tensor x, Dropout dropout);
}
