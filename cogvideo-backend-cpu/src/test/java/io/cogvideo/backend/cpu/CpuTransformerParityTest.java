package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.TransformerParityKit;

/** The golden transformer parity suite on the CPU backend. */
class CpuTransformerParityTest extends TransformerParityKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(BackendOptions.defaults());
    }
}
