package io.cogvideo.backend.cuda;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.testkit.BackendContractKit;

/**
 * The SPI's checking contract on the CUDA backend, driven on the recording device (no GPU needed): a wrong rank, a
 * shape mismatch, a closed or foreign tensor give exactly the exceptions they give on the CPU backend, because the
 * checks live once in {@link io.cogvideo.spi.CheckedBackend}. Values are checked by the GPU suites.
 */
class CudaBackendContractTest extends BackendContractKit {
    @Override
    protected Backend newBackend() {
        return new CudaBackend(new RecordingDevice(132), new BackendOptions(0, DType.FLOAT16));
    }

    @Override
    protected boolean computesValues() {
        return false;
    }
}
