package io.cogvideo.spi;

import io.cogvideo.CogVideoException;

/**
 * Geometry of CogView2's local attention for super-resolution (the Image-Local-Attention CUDA extension as the DSR
 * model uses it): every query of a {@code fineGrid x fineGrid} token raster attends, in one softmax, to a
 * {@code coarseKernelH x coarseKernelW} neighbourhood of a {@code coarseGrid x coarseGrid} raster and a
 * {@code fineKernelH x fineKernelW} neighbourhood of the fine raster. A neighbourhood is centred on the query's cell
 * {@code (i * keyGrid / fineGrid, j * keyGrid / fineGrid)} of the key raster; neighbours outside the raster are
 * excluded. Scores are {@code q·k / sqrt(d)}, plus {@code coarseBoost} on the coarse keys.
 *
 * @param heads         attention heads
 * @param fineGrid      edge of the fine (query and fine key) raster, e.g. 60
 * @param coarseGrid    edge of the coarse key raster, e.g. 20; {@code fineGrid % coarseGrid == 0}
 * @param fineKernelH   rows of the fine neighbourhood (odd), 9 in CogView2's DSR
 * @param fineKernelW   columns of the fine neighbourhood (odd), 5
 * @param coarseKernelH rows of the coarse neighbourhood (odd), 5
 * @param coarseKernelW columns of the coarse neighbourhood (odd), 5
 * @param coarseBoost   added to the coarse scores ({@code add_scalar}, 0)
 */
public record LocalAttentionSpec(int heads, int fineGrid, int coarseGrid, int fineKernelH, int fineKernelW,
        int coarseKernelH, int coarseKernelW, float coarseBoost) {

    public LocalAttentionSpec {
        if (heads < 1 || fineGrid < 1 || coarseGrid < 1 || fineGrid % coarseGrid != 0) {
            throw new CogVideoException("local attention: need heads >= 1 and fineGrid a multiple of coarseGrid, got "
                    + heads + ", " + fineGrid + ", " + coarseGrid);
        }
        for (int k : new int[] {fineKernelH, fineKernelW, coarseKernelH, coarseKernelW}) {
            if (k < 1 || k % 2 == 0) {
                throw new CogVideoException("local attention kernel sizes must be odd and >= 1, got " + k);
            }
        }
    }
}
