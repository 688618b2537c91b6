package io.cogvideo.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What {@link CudaBackend} needs from a GPU: memory, copies, kernel launches and GEMMs, all queued in order.
 * {@link CudaContext} is the real one; the tests substitute a recording fake to drive every backend code path
 * (argument types, shapes, memory lifetimes) without a GPU.
 */
interface Device extends AutoCloseable {

    /** Streaming multiprocessors (sizes the grids). */
    int multiprocessors();

    /** One line: GPU, driver, libraries. */
    String describe();

    /** Device memory of {@code bytes} bytes (0 for 0 bytes); freed with {@link #free} in queue order. */
    long alloc(long bytes);

    void free(long ptr, long bytes);

    void memsetZero(long ptr, long bytes);

    /** Queues a host-to-device copy; the host memory may be reused when this returns. */
    void upload(long dst, MemorySegment src, long bytes);

    /** Copies to the host after all queued work; returns when the bytes are there. */
    void download(MemorySegment dst, long src, long bytes);

    void copy(long dst, long src, long bytes);

    /** Waits for all queued work. */
    void sync();

    /** Queues a kernel; arguments as {@link Kernel#check}. */
    void launch(Kernel k, int gx, int gy, int gz, int block, int sharedBytes, Object... args);

    /** Queues {@code y[rows, out] = x[rows, in] · W[out, in]ᵀ} (fp32 y; x and W of type {@code abType}). */
    void gemm(long w, long x, long y, int rows, int in, int out, DeviceType abType, float beta);

    @Override
    void close();
}
