package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.PipelineKit;

/** End-to-end generation on the CPU backend. */
class CpuPipelineTest extends PipelineKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(BackendOptions.defaults());
    }
}
