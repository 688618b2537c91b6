package io.cogvideo.backend.cpu;

import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A CPU tensor: a C-ordered float32 ND4J array. Memory is reclaimed by ND4J's deallocator when unreachable. */
final class CpuTensor implements Tensor {
    final INDArray a;

    CpuTensor(INDArray a) {
        this.a = a;
    }

    @Override
    public int[] shape() {
        long[] s = a.shape();
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = Math.toIntExact(s[i]);
        }
        return out;
    }

    @Override
    public DType dtype() {
        return DType.FLOAT32;
    }

    @Override
    public void close() {
        // Arrays may share buffers with views; ND4J's garbage-driven deallocation releases them safely.
    }

    @Override
    public String toString() {
        return "CpuTensor" + java.util.Arrays.toString(a.shape());
    }
}
