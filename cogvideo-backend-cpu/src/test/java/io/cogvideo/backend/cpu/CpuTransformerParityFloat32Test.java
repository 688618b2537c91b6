package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.testkit.TransformerParityKit;

/**
 * The golden transformer parity suite with weights widened to float32 at load ({@link CpuTransformerParityTest}
 * runs the default, float16 storage of the float16 golden checkpoints).
 */
class CpuTransformerParityFloat32Test extends TransformerParityKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(new BackendOptions(0, DType.FLOAT32));
    }
}
