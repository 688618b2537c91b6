package io.cogvideo.reference;

import io.cogvideo.spi.Backend;
import io.cogvideo.testkit.VqVaeOpsKit;
import io.cogvideo.testkit.ReferenceBackend;

/** The VQ-VAE op pack of the reference backend against the kit's naive double-precision loops. */
class ReferenceVqVaeOpsTest extends VqVaeOpsKit {

    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
