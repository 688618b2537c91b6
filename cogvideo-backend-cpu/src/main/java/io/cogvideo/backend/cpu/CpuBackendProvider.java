package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider;

/**
 * The CPU backend (OpenBLAS through JavaCPP, plus Java kernels). Available where JavaCPP's OpenBLAS preset is on the
 * class path (on linux-x86_64 it comes with nd4j-native); natives are loaded only when {@link #create} is called.
 * Every {@link #create} makes an independent backend with its own threads.
 */
public final class CpuBackendProvider implements BackendProvider {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int rank() {
        return 10;
    }

    @Override
    public Availability availability() {
        try {
            Class.forName("org.bytedeco.openblas.global.openblas_nolapack", false, getClass().getClassLoader());
        } catch (ClassNotFoundException e) {
            return Availability.no("JavaCPP's OpenBLAS preset is not on the class path (add org.bytedeco:openblas "
                    + "with the classifier of this platform, or org.nd4j:nd4j-native, which brings it)");
        }
        return Availability.yes("OpenBLAS (JavaCPP) on " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public Backend create(BackendOptions options) {
        return new CpuBackend(options);
    }
}
