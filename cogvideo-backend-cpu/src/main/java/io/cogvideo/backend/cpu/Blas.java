package io.cogvideo.backend.cpu;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * Single-precision GEMM on heap arrays through the OpenBLAS build that ND4J ships (JavaCPP's {@code openblas}
 * preset): no ND4J arrays, so no off-heap allocation per call. Arrays are passed whole, so callers pass arrays of
 * exactly the operand's size. OpenBLAS runs its own threads (the count ND4J was set up with).
 */
final class Blas {
    private Blas() {
    }

    /**
     * {@code c[m, n] = alpha * op(a) · op(b) + beta * c} on heap arrays, all row-major: {@code op(a)} is {@code a[m, k]}
     * or, with {@code transA}, the transpose of {@code a[k, m]}; {@code op(b)} is {@code b[k, n]} or, with
     * {@code transB}, the transpose of {@code b[n, k]}.
     */
    static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, float[] b,
            float beta, float[] c) {
        if (a.length != m * k || b.length != k * n || c.length != m * n) {
            throw new IllegalArgumentException("sgemm " + m + "x" + n + "x" + k + ": operand sizes " + a.length + ", "
                    + b.length + ", " + c.length);
        }
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor,
                transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
                transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans, m, n, k, alpha, a,
                transA ? m : k, b, transB ? k : n, beta, c, n);
    }

    /**
     * {@code c = alpha * a[m, k] · op(b)} on off-heap operands (no JNI copies); {@code op(b)} is {@code b[k, n]} or,
     * with {@code transB}, the transpose of {@code b[n, k]}. Operands may be larger than needed (leading rows used).
     */
    static void sgemm(int m, int n, int k, float alpha, Scratch a, Scratch b, boolean transB, Scratch c) {
        if (a.size < (long) m * k || b.size < (long) k * n || c.size < (long) m * n) {
            throw new IllegalArgumentException("sgemm " + m + "x" + n + "x" + k + ": scratch too small");
        }
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasNoTrans,
                transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans, m, n, k, alpha, a.pointer, k,
                b.pointer, transB ? k : n, 0f, c.pointer, n);
    }

    /**
     * {@code c[m, n] = alpha * a[m, k] · b + beta * c} with {@code b} [k, n] off-heap (e.g. a widened weight) and
     * {@code a}, {@code c} on the heap.
     */
    static void sgemm(int m, int n, int k, float alpha, float[] a, Scratch b, float beta, float[] c) {
        if (a.length != m * k || b.size < (long) k * n || c.length != m * n) {
            throw new IllegalArgumentException("sgemm " + m + "x" + n + "x" + k + ": operand sizes");
        }
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasNoTrans,
                openblas_nolapack.CblasNoTrans, m, n, k, alpha, FloatBuffer.wrap(a), k, b.buffer(), n, beta,
                FloatBuffer.wrap(c), n);
    }

    /** An off-heap float array for GEMM operands, freed on close. */
    static final class Scratch implements AutoCloseable {
        final long size;
        final FloatPointer pointer;
        private final FloatBuffer buffer;

        Scratch(long size) {
            if (size > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("scratch of " + size + " floats");
            }
            this.size = size;
            this.pointer = new FloatPointer(Math.max(1, size));
            this.buffer = pointer.asBuffer();
        }

        /** The memory as a buffer (absolute get/put only). */
        FloatBuffer buffer() {
            return buffer;
        }

        @Override
        public void close() {
            pointer.deallocate();
        }
    }
}
