package io.cogvideo.training;

import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.spi.Backend;
import io.cogvideo.testkit.TrainingParityKit;

/** The training golden parity ({@link TrainingParityKit}) on the plain-Java pack over {@link ReferenceBackend}. */
class HostTrainingParityTest extends TrainingParityKit {
    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
