package io.cogvideo.reference;

import io.cogvideo.spi.Backend;
import io.cogvideo.testkit.BackendContractKit;
import io.cogvideo.testkit.ReferenceBackend;

/** The SPI's checking contract on the reference backend. */
class ReferenceBackendContractTest extends BackendContractKit {

    @Override
    protected Backend newBackend() {
        return new ReferenceBackend();
    }
}
