package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.testkit.TrainingParityKit;

/**
 * Loss and every parameter gradient of the original training model (golden set {@code -Dcogvideo.golden.train}),
 * stage 1 and stage 2, on the CPU backend with float32 weights (training keeps float32 master weights).
 */
class CpuTrainingParityTest extends TrainingParityKit {
    @Override
    protected Backend newBackend() {
        return new CpuBackendProvider().create(new BackendOptions(0, DType.FLOAT32));
    }
}
