package io.cogvideo.spi;

/**
 * CogVideo's dual-channel attention: fused multi-head attention under a structured {@link AttentionMask}, and the
 * learned mix of the two channels. Implemented by the CPU and CUDA backends and by {@code ReferenceBackend}.
 */
public interface FusedAttention extends OpPack {

    /**
     * For each batch row and head, {@code softmax(q kᵀ / sqrt(d) + boost, masked by mask) · v} over the first
     * {@code keyLength} key rows. A query row that sees no key gets zeros.
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
     * The channel mix: {@code sigmoid(mixLogits) * base + (1 - sigmoid(mixLogits)) * plus}, with {@code mixLogits}
     * [h] broadcast over batch and rows.
     */
    Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits);
}
