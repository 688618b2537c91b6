package io.cogvideo.spi;

import io.cogvideo.CogVideoException;

/**
 * Options a backend is created with.
 *
 * @param threads     CPU threads to use (0: the backend's default)
 * @param weightDtype how weights are kept in memory: {@code null} for the backend's default, else FLOAT32,
 *                    FLOAT16 or BFLOAT16
 */
public record BackendOptions(int threads, DType weightDtype) {

    public BackendOptions {
        if (threads < 0) {
            throw new CogVideoException("threads must be >= 0 (0 = default), got " + threads);
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
