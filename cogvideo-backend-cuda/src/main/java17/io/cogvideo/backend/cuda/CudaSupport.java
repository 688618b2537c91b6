package io.cogvideo.backend.cuda;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider.Availability;

/**
 * The JDK 22+ half of the CUDA backend as seen from the JDK 17 provider. Compiled for release 17 (like
 * {@link CudaBackendProvider}); implemented by {@code CudaSupportImpl}, compiled for release 22, which the provider
 * instantiates reflectively only after checking the running JDK.
 */
public interface CudaSupport {

    /** Probes driver, device, cuBLAS and the kernels (cached after the first call). */
    Availability availability();

    /** Creates the backend, or throws {@link io.cogvideo.CogVideoException} saying why it cannot run here. */
    Backend create(BackendOptions options);
}
