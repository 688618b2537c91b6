package io.cogvideo.reference;

import io.cogvideo.spi.Backend;
import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.testkit.TransformerParityKit;

/** The CogVideo transformer on the plain-Java reference backend against the golden set (same tolerances as the kit). */
class ReferenceTransformerParityTest extends TransformerParityKit {

    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
