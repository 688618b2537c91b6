package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tensor in device memory, row-major and contiguous. Activations are float32; weights and key/value caches may be
 * half or bfloat16. Memory is reference-counted so that a weight view (the output head, a row range of the word
 * embeddings) keeps its parent's memory alive; {@link #close()} releases this handle's reference, and a tensor that
 * becomes unreachable without being closed is released by a {@link Cleaner}.
 */
final class CudaTensor implements Tensor {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Device memory shared by a tensor and its views. */
    static final class Buffer {
        final Device device;
        final long ptr;
        final long bytes;
        private final AtomicInteger refs = new AtomicInteger(1);

        Buffer(Device device, long ptr, long bytes) {
            this.device = device;
            this.ptr = ptr;
            this.bytes = bytes;
        }

        void retain() {
            if (refs.getAndIncrement() <= 0) {
                throw new CogVideoException("device buffer already freed");
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                device.free(ptr, bytes);
            }
        }
    }

    /** Releases one reference exactly once, from close() or the cleaner. */
    private static final class Release implements Runnable {
        private final Buffer buffer;
        private final AtomicBoolean done = new AtomicBoolean();

        Release(Buffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                buffer.release();
            }
        }
    }

    final CudaBackend owner;
    final int[] shape;
    final DeviceType type;
    final long numel;
    /** Read-only (an uploaded weight): views share its memory instead of copying. */
    final boolean immutable;
    private final Buffer buffer;
    private final long byteOffset;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    CudaTensor(CudaBackend owner, int[] shape, DeviceType type, Buffer buffer, long byteOffset, boolean immutable) {
        this.owner = owner;
        this.shape = shape;
        this.type = type;
        this.numel = TensorData.numel(shape);
        this.buffer = buffer;
        this.byteOffset = byteOffset;
        this.immutable = immutable;
        this.cleanable = CLEANER.register(this, new Release(buffer));
    }

    /** A view of {@code parent}'s memory (which it keeps alive) at a byte offset. */
    static CudaTensor view(CudaTensor parent, int[] shape, long byteOffset) {
        parent.buffer.retain();
        return new CudaTensor(parent.owner, shape, parent.type, parent.buffer, parent.byteOffset + byteOffset, true);
    }

    /** Device address of the first element. */
    long ptr() {
        if (closed) {
            throw new CogVideoException("tensor " + this + " is closed");
        }
        return buffer.ptr + byteOffset;
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

    @Override
    public void close() {
        closed = true;
        cleanable.clean();
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "CudaTensor" + Arrays.toString(shape) + " " + type;
    }
}
