package io.cogvideo.spi;

/**
 * CogView2's local attention for direct super-resolution (see {@link LocalAttentionSpec}). Implemented by the CPU
 * backend and by {@code ReferenceBackend}.
 */
public interface LocalAttention extends OpPack {

    /**
     * Each fine-raster query attends to a neighbourhood of the coarse raster and of the fine raster in one softmax.
     *
     * @param q       [B, fineGrid², heads * d] queries (fine raster, row-major)
     * @param kFine   [B, fineGrid², heads * d]
     * @param vFine   [B, fineGrid², heads * d]
     * @param kCoarse [B, coarseGrid², heads * d]
     * @param vCoarse [B, coarseGrid², heads * d]
     * @return [B, fineGrid², heads * d]
     */
    Tensor localAttention(Tensor q, Tensor kFine, Tensor vFine, Tensor kCoarse, Tensor vCoarse,
            LocalAttentionSpec spec);
}
