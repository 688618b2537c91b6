package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.VqVaeParityKit;

/** The golden image-tokenizer (VQ-VAE) parity suite on the CPU backend. */
class CpuVqVaeParityTest extends VqVaeParityKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(BackendOptions.defaults());
    }
}
