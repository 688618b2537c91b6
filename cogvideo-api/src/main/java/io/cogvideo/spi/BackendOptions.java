package io.cogvideo.spi;

import io.cogvideo.CogVideoException;

/**
 * Options a backend is created with.
 *
 * @param threads     CPU threads to use (0: the backend's default), at most {@link #maxThreads()}
 * @param weightDtype how weights are kept in memory: {@code null} for the backend's default, else FLOAT32,
 *                    FLOAT16 or BFLOAT16
 */
public record BackendOptions(int threads, DType weightDtype) {

    /**
     * The most threads a backend may be asked for: four per processor the JVM sees, and at least 16. More only adds
     * switching (the kernels split work evenly over the threads), and a huge count exhausts the native threads of
     * the process before any work is done.
     *
     * @return {@code max(16, 4 * Runtime.availableProcessors())}
     */
    public static int maxThreads() {
        return Math.max(16, 4 * Runtime.getRuntime().availableProcessors());
    }

    public BackendOptions {
        if (threads < 0 || threads > maxThreads()) {
            throw new CogVideoException("threads must be in [0, " + maxThreads() + "] (0 = default; at most 4 per "
                    + "processor, at least 16), got " + threads);
        }
        if (weightDtype != null && weightDtype != DType.FLOAT32 && weightDtype != DType.FLOAT16
                && weightDtype != DType.BFLOAT16) {
            throw new CogVideoException("weightDtype must be FLOAT32, FLOAT16 or BFLOAT16, got " + weightDtype);
        }
    }

    /** Backend defaults. */
    public static BackendOptions defaults() {
        return new BackendOptions(0, null);
    }
}
