package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider;

/**
 * The CPU backend on ND4J (nd4j-native, OpenBLAS). Always available on linux-x86_64 where the native artifact is on
 * the class path; natives are loaded only when {@link #create} is called.
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
            Class.forName("org.nd4j.linalg.cpu.nativecpu.CpuBackend", false, getClass().getClassLoader());
        } catch (ClassNotFoundException e) {
            return Availability.no("nd4j-native is not on the class path (add org.nd4j:nd4j-native with the "
                    + "classifier of this platform)");
        }
        return Availability.yes("ND4J nd4j-native on " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores");
    }

    @Override
    public Backend create(BackendOptions options) {
        return new CpuBackend(options);
    }
}
