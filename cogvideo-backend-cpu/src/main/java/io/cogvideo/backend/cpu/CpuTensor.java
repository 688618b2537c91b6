package io.cogvideo.backend.cpu;

import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import java.util.Arrays;

/**
 * A CPU tensor, row-major. Activations live on the Java heap as {@code float[]}. A weight may instead be stored as
 * float16 ({@code short[]}, half the memory; widened to float32 inside the kernels, never as a whole copy), and a
 * 2-D weight used by {@code linear} is kept transposed ([in, out]) so that a matrix-vector product streams it once
 * with contiguous, vectorisable inner loops. Forms are made from each other on first use; once a weight's transposed
 * form exists its row-major form is dropped (and remade only if some other operation asks for it).
 *
 * <p>The backend's operations receive these raw tensors from {@code CheckedBackend}, which has checked shapes, owner
 * and liveness; nothing here validates its arguments.
 */
final class CpuTensor implements Tensor {
    final int[] shape;
    private final DType storage;
    private volatile float[] heap;
    /** float32 weight, transposed [cols, rows]. */
    private volatile float[] heapT;
    /** float16 weight, row-major. */
    private volatile short[] half;
    /** float16 weight, transposed [cols, rows]. */
    private volatile short[] halfT;

    CpuTensor(int[] shape, float[] heap) {
        this.shape = shape;
        this.heap = heap;
        this.storage = DType.FLOAT32;
    }

    /** A float16 tensor, row-major ({@code transposed == false}) or, for 2-D, as its transpose. */
    CpuTensor(int[] shape, short[] values, boolean transposed) {
        this.shape = shape;
        this.storage = DType.FLOAT16;
        if (transposed) {
            this.halfT = values;
        } else {
            this.half = values;
        }
    }

    int numel() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    boolean isHalf() {
        return storage == DType.FLOAT16;
    }

    /** The float32 row-major form (made on first use; for a float16 weight this is a cached widened copy). */
    float[] heap() {
        float[] h = heap;
        if (h == null) {
            synchronized (this) {
                h = heap;
                if (h == null) {
                    if (isHalf()) {
                        short[] s = half();
                        h = new float[s.length];
                        Fp16.toFloats(s, 0, h, 0, s.length);
                    } else {
                        h = transpose(heapT, shape[1], shape[0], null);
                    }
                    heap = h;
                }
            }
        }
        return h;
    }

    /** The float16 row-major form of a float16 tensor. */
    short[] half() {
        short[] s = half;
        if (s == null) {
            synchronized (this) {
                s = half;
                if (s == null) {
                    s = transpose(halfT, shape[1], shape[0], null);
                    half = s;
                }
            }
        }
        return s;
    }

    /** The transpose of a float32 2-D weight ([cols, rows], row-major); cached, the row-major form is dropped. */
    float[] heapT() {
        return heapT(null);
    }

    /** The transposed float32 form if it exists now ({@code null} if not): read without making or dropping a form. */
    float[] heapTIfPresent() {
        return heapT;
    }

    /** {@link #heapT()}, transposing on {@code threads} if the form is made now. */
    float[] heapT(CpuThreads threads) {
        float[] t = heapT;
        if (t == null) {
            synchronized (this) {
                t = heapT;
                if (t == null) {
                    t = transpose(heap(), shape[0], shape[1], threads);
                    heapT = t;
                    heap = null;
                }
            }
        }
        return t;
    }

    /** The transpose of a float16 2-D weight ([cols, rows]); cached, the row-major form is dropped. */
    short[] halfT() {
        return halfT(null);
    }

    /** {@link #halfT()}, transposing on {@code threads} if the form is made now. */
    short[] halfT(CpuThreads threads) {
        short[] t = halfT;
        if (t == null) {
            synchronized (this) {
                t = halfT;
                if (t == null) {
                    t = transpose(half, shape[0], shape[1], threads);
                    halfT = t;
                    half = null;
                }
            }
        }
        return t;
    }

    /** Row-major {@code [rows, cols]} to row-major {@code [cols, rows]}, in cache-sized tiles (bands of rows in parallel). */
    static float[] transpose(float[] src, int rows, int cols, CpuThreads threads) {
        float[] t = new float[src.length];
        bands(rows, threads, (r0, r1) -> {
            for (int c0 = 0; c0 < cols; c0 += 64) {
                int c1 = Math.min(cols, c0 + 64);
                for (int r = r0; r < r1; r++) {
                    for (int c = c0; c < c1; c++) {
                        t[c * rows + r] = src[r * cols + c];
                    }
                }
            }
        });
        return t;
    }

    static short[] transpose(short[] src, int rows, int cols, CpuThreads threads) {
        short[] t = new short[src.length];
        bands(rows, threads, (r0, r1) -> {
            for (int c0 = 0; c0 < cols; c0 += 64) {
                int c1 = Math.min(cols, c0 + 64);
                for (int r = r0; r < r1; r++) {
                    for (int c = c0; c < c1; c++) {
                        t[c * rows + r] = src[r * cols + c];
                    }
                }
            }
        });
        return t;
    }

    private interface Band {
        void run(int r0, int r1);
    }

    /** Runs {@code band} over 64-row bands of {@code [0, rows)}, on {@code threads} when given. */
    private static void bands(int rows, CpuThreads threads, Band band) {
        int bands = (rows + 63) / 64;
        java.util.function.IntConsumer one = b -> band.run(b * 64, Math.min(rows, b * 64 + 64));
        if (threads == null) {
            for (int b = 0; b < bands; b++) {
                one.accept(b);
            }
        } else {
            threads.forRange(0, bands, one);
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return storage;
    }

    /**
     * Drops the arrays, so that their memory can be reclaimed by the garbage collector even while a closed handle is
     * still referenced (for example by an open {@code TensorScope}). {@code CheckedBackend} refuses closed tensors.
     */
    @Override
    public void close() {
        heap = null;
        heapT = null;
        half = null;
        halfT = null;
    }

    @Override
    public String toString() {
        return "CpuTensor" + Arrays.toString(shape) + (isHalf() ? " fp16" : "");
    }
}
