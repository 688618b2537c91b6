package io.cogvideo.backend.cuda;

import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import java.lang.ref.Cleaner;
import java.util.Arrays;

/**
 * A tensor in device memory, row-major and contiguous, owning its allocation. Activations are float32; weights and
 * key/value caches may be half or bfloat16. {@link #close()} frees the memory (stream-ordered); a tensor that
 * becomes unreachable without being closed is freed by a {@link Cleaner}.
 *
 * <p>There is no closed-state check here: {@link io.cogvideo.spi.CheckedBackend} refuses a closed tensor before
 * {@link CudaBackend} sees it.
 */
final class CudaTensor implements Tensor {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Frees the allocation; run at most once, by {@link #close()} or the cleaner. */
    private record Release(Device device, long ptr, long bytes) implements Runnable {
        @Override
        public void run() {
            device.free(ptr, bytes);
        }
    }

    final int[] shape;
    final DeviceType type;
    final long numel;
    private final long ptr;
    private final Cleaner.Cleanable cleanable;

    /** Takes ownership of {@code ptr}, an allocation of {@code device} large enough for {@code shape}. */
    CudaTensor(Device device, int[] shape, DeviceType type, long ptr) {
        this.shape = shape;
        this.type = type;
        this.numel = TensorData.numel(shape);
        this.ptr = ptr;
        this.cleanable = CLEANER.register(this, new Release(device, ptr, bytes()));
    }

    /** Device address of the first element. */
    long ptr() {
        return ptr;
    }

    long bytes() {
        return numel * type.bytes();
    }

    int rank() {
        return shape.length;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return type.dtype;
    }

    /** Frees the memory; idempotent ({@link Cleaner.Cleanable#clean} runs the release at most once). */
    @Override
    public void close() {
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "CudaTensor" + Arrays.toString(shape) + " " + type;
    }
}
