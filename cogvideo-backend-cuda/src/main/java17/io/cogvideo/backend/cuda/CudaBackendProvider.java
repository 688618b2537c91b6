package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider;
import io.cogvideo.spi.Backends;

/**
 * The CUDA backend's {@link BackendProvider}: NVIDIA GPUs through the CUDA driver API and cuBLAS, called with the
 * Foreign Function &amp; Memory API (JDK 22+), with the project's own kernels.
 *
 * <p>This class is compiled for Java 17 and touches no FFM class: on JDK 17 to 21 it loads fine and reports
 * "needs JDK 22+". On JDK 22+ it reaches the implementation ({@code CudaSupportImpl}) reflectively. Probing
 * ({@link #availability()}) loads {@code libcuda.so.1} and calls {@code cuInit}, looks for cuBLAS and the bundled
 * PTX, and caches the answer; nothing is allocated on a device before {@link #create}.
 *
 * <p>Run it as a program to see the answer: {@code java -cp ... io.cogvideo.backend.cuda.CudaBackendProvider}.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** Preference over the CPU backend (rank 10). */
    public static final int RANK = 20;
    /** First JDK feature release with the final FFM API. */
    public static final int MIN_JDK = 22;

    private static final String IMPL = "io.cogvideo.backend.cuda.CudaSupportImpl";
    private static volatile CudaSupport support;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int rank() {
        return RANK;
    }

    @Override
    public Availability availability() {
        String jdk = jdkProblem(Runtime.version().feature());
        if (jdk != null) {
            return Availability.no(jdk);
        }
        return support().availability();
    }

    @Override
    public Backend create(BackendOptions options) {
        String jdk = jdkProblem(Runtime.version().feature());
        if (jdk != null) {
            throw new CogVideoException("the cuda backend cannot run here: " + jdk);
        }
        return support().create(options == null ? BackendOptions.defaults() : options);
    }

    /** The reason this JDK cannot run the backend, or {@code null}. */
    static String jdkProblem(int feature) {
        if (feature < MIN_JDK) {
            return "needs JDK " + MIN_JDK + "+ (running " + feature + "): the CUDA backend calls the driver through "
                    + "the Foreign Function & Memory API";
        }
        return null;
    }

    private static CudaSupport support() {
        CudaSupport s = support;
        if (s == null) {
            synchronized (CudaBackendProvider.class) {
                s = support;
                if (s == null) {
                    try {
                        Class<?> c = Class.forName(IMPL, true, CudaBackendProvider.class.getClassLoader());
                        s = (CudaSupport) c.getDeclaredConstructor().newInstance();
                    } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
                        throw new CogVideoException("the cuda backend's JDK " + MIN_JDK + " part (" + IMPL
                                + ") could not be loaded: " + e, e);
                    }
                    support = s;
                }
            }
        }
        return s;
    }

    /** Prints whether the backend can run on this machine, and why, then every backend the class path offers. */
    public static void main(String[] args) {
        CudaBackendProvider p = new CudaBackendProvider();
        Availability a;
        try {
            a = p.availability();
        } catch (RuntimeException e) {
            a = Availability.no("availability check failed: " + e);
        }
        System.out.println("cuda backend (rank " + p.rank() + "): " + (a.available() ? "available" : "not available")
                + " - " + a.reason());
        System.out.println(Backends.describe(Backends.discover()));
    }
}
