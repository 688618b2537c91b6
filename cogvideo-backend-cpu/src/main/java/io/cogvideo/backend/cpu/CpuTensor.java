package io.cogvideo.backend.cpu;

import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A CPU tensor, float32, row-major. It lives on the Java heap ({@code float[]}, where the small fused operations
 * run without crossing into native code) and/or as an ND4J array (off-heap, for OpenBLAS GEMMs); each form is made
 * from the other on first use. Weights are immutable, so their lazily made forms are cached.
 */
final class CpuTensor implements Tensor {
    final int[] shape;
    private volatile float[] heap;
    private volatile INDArray nd;
    /** For 2-D weights used by linear layers: the transposed [in, out] heap copy, made on first use. */
    private volatile float[] heapT;
    private volatile INDArray ndT;

    CpuTensor(int[] shape, float[] heap) {
        this.shape = shape;
        this.heap = heap;
    }

    CpuTensor(INDArray nd) {
        long[] s = nd.shape();
        this.shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = Math.toIntExact(s[i]);
        }
        this.nd = nd;
    }

    int numel() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    boolean hasHeap() {
        return heap != null;
    }

    /** The heap form (made from the ND4J form on first use). Callers that write must own the tensor. */
    float[] heap() {
        float[] h = heap;
        if (h == null) {
            synchronized (this) {
                h = heap;
                if (h == null) {
                    h = nd.dup('c').data().asFloat();
                    heap = h;
                }
            }
        }
        return h;
    }

    /** The ND4J form (made from the heap form on first use; a snapshot, do not cache for tensors that change). */
    INDArray nd() {
        INDArray a = nd;
        if (a == null) {
            synchronized (this) {
                a = nd;
                if (a == null) {
                    long[] s = new long[shape.length];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = shape[i];
                    }
                    a = Nd4j.create(heap, s, 'c');
                    nd = a;
                }
            }
        }
        return a;
    }

    /** The transpose of a 2-D tensor as a row-major heap array ([cols, rows]); cached (weights only). */
    float[] heapT() {
        float[] t = heapT;
        if (t == null) {
            synchronized (this) {
                t = heapT;
                if (t == null) {
                    int rows = shape[0];
                    int cols = shape[1];
                    float[] src = heap();
                    t = new float[rows * cols];
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            t[c * rows + r] = src[r * cols + c];
                        }
                    }
                    heapT = t;
                }
            }
        }
        return t;
    }

    /** The transpose of a 2-D weight as a row-major ND4J array ([cols, rows]); cached. */
    INDArray ndT() {
        INDArray a = ndT;
        if (a == null) {
            synchronized (this) {
                a = ndT;
                if (a == null) {
                    a = Nd4j.create(heapT(), new long[] {shape[1], shape[0]}, 'c');
                    ndT = a;
                }
            }
        }
        return a;
    }

    /** Drops a stale ND4J snapshot after the heap form was written. */
    void heapChanged() {
        nd = null;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return DType.FLOAT32;
    }

    @Override
    public void close() {
        // memory is reclaimed by the garbage collector (heap) and ND4J's deallocator (off-heap)
    }

    @Override
    public String toString() {
        return "CpuTensor" + Arrays.toString(shape);
    }
}
