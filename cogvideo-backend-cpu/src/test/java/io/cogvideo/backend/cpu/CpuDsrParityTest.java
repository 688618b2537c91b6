package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.DsrParityKit;

/** Super-resolution parity on the CPU backend. */
class CpuDsrParityTest extends DsrParityKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(BackendOptions.defaults());
    }
}
