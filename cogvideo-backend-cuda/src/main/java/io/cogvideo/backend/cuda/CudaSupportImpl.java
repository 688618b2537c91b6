package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider.Availability;

/** The JDK 22+ implementation behind {@link CudaBackendProvider}; instantiated reflectively by it. */
public final class CudaSupportImpl implements CudaSupport {
    /** System property: synchronise and check after every kernel launch (debugging; slow). */
    static final String SYNC_PROPERTY = "cogvideo.cuda.syncEveryLaunch";

    public CudaSupportImpl() {
        // instantiated by CudaBackendProvider
    }

    @Override
    public Availability availability() {
        return Probe.get().availability();
    }

    @Override
    public Backend create(BackendOptions options) {
        Probe p = Probe.get();
        if (!p.available) {
            throw new CogVideoException("the cuda backend is not available: " + p.reason);
        }
        CudaContext ctx = new CudaContext(p.driver, p.cublas, p.ordinal, Boolean.getBoolean(SYNC_PROPERTY));
        try {
            return new CudaBackend(ctx, options);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }
}
