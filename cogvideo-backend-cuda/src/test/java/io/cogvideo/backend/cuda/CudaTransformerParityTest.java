package io.cogvideo.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.testkit.TransformerParityKit;
import org.junit.jupiter.api.extension.ExtendWith;

/** The golden transformer parity suite (max abs logit error 1e-3) on the GPU in fp32 parity mode. */
@ExtendWith(RequiresCuda.class)
class CudaTransformerParityTest extends TransformerParityKit {
    @Override
    protected Backend newBackend() {
        var a = RequiresCuda.availability();
        assumeTrue(a.available(), a.reason());
        return new CudaBackendProvider().create(new BackendOptions(0, DType.FLOAT32));
    }
}
