package io.cogvideo.reference;

import io.cogvideo.spi.Backend;
import io.cogvideo.testkit.DsrParityKit;
import io.cogvideo.testkit.ReferenceBackend;

/** CogView2 super-resolution on the reference backend against the golden set (same tolerances as the kit). */
class ReferenceDsrParityTest extends DsrParityKit {

    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
