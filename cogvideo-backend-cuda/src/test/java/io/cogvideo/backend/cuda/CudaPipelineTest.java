package io.cogvideo.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.testkit.PipelineKit;
import org.junit.jupiter.api.extension.ExtendWith;

/** End-to-end generation (structure, determinism, cancellation, threads) on the GPU with default fp16 weights. */
@ExtendWith(RequiresCuda.class)
class CudaPipelineTest extends PipelineKit {
    @Override
    protected Backend newBackend() {
        var a = RequiresCuda.availability();
        assumeTrue(a.available(), a.reason());
        return new CudaBackendProvider().create(BackendOptions.defaults());
    }
}
