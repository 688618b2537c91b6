package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.VqVaeOpsKit;
import org.junit.jupiter.api.Test;

/** The VQ-VAE image operations of the CPU backend against naive loops. */
class CpuVqVaeOpsTest extends VqVaeOpsKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(BackendOptions.defaults());
    }

    @Test
    void conv2dSplitsLargeIm2colIntoBands() {
        // one output row of a 3x3 conv over c channels needs 9 * c * width im2col values: make the band limit bite
        int c = 16;
        int w = 64;
        int rowsPerBand = CpuImageOps.IM2COL_LIMIT / (9 * c * w);
        int h = rowsPerBand * 2 + 3;
        checkConv(1, c, h, w, 2, 3, 3, true, 1, 1, 1, 1, 1);
    }
}
