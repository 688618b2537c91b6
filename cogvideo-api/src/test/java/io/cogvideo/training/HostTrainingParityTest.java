package io.cogvideo.training;

import io.cogvideo.spi.Backend;
import io.cogvideo.testkit.TrainingParityKit;

/** The training golden parity ({@link TrainingParityKit}) on the plain-Java pack over {@link HostTestBackend}. */
class HostTrainingParityTest extends TrainingParityKit {
    @Override
    protected Backend newBackend() {
        return new HostTestBackend();
    }
}
