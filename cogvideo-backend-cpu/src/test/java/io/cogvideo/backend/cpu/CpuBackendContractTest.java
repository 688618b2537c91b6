package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.BackendContractKit;

/** The SPI's checking contract on the CPU backend: the same exceptions as every other backend. */
class CpuBackendContractTest extends BackendContractKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(BackendOptions.defaults());
    }
}
