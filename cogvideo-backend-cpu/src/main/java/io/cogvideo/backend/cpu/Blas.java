package io.cogvideo.backend.cpu;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * Single-precision GEMM on heap arrays and off-heap scratch through OpenBLAS (JavaCPP's {@code openblas} preset, the
 * build nd4j-native ships): no ND4J arrays, so no off-heap allocation per call. Arrays are passed whole, so callers
 * pass arrays of exactly the operand's size (checked by assertions: these are internal calls, the backend's inputs
 * were validated by {@code CheckedBackend}).
 *
 * <p><b>Threads.</b> OpenBLAS runs GEMMs on its own native threads, and their number is one setting for the whole
 * process ({@code openblas_set_num_threads}); this OpenBLAS (0.3.19) has no per-call or per-thread count. So that
 * every backend still uses its own count, a backend calls {@link #useThreads} with its count before its OpenBLAS work.
 * The native call (about a millisecond) is made only when the count last set through JavaCPP's preset differs (the
 * preset remembers it, so this class keeps no state). Backends with different counts that run GEMMs at the same
 * moment may see each other's count for those calls (same results, only the speed differs); one backend per process,
 * the usual case, sets it once. (nd4j-native also sets it through the preset, so its setting is seen too; a count set
 * natively around the preset would not be.)
 */
final class Blas {
    private Blas() {
    }

    /**
     * The OpenBLAS thread count of a backend made without a count: the physical cores of one processor package, the
     * count nd4j-native gave OpenBLAS when the backend still initialised ND4J (hyper-threads add little to GEMM
     * kernels); every available processor where the cores cannot be counted.
     */
    static int defaultThreads() {
        Loader.load(openblas_nolapack.class); // JavaCPP's natives, which count the cores
        int cores = Loader.totalCores();
        int chips = Loader.totalChips();
        return cores > 0 && chips > 0 ? Math.max(1, cores / chips) : Runtime.getRuntime().availableProcessors();
    }

    /** Makes OpenBLAS run on {@code threads} threads from now on (process-wide, see the class comment). */
    static void useThreads(int threads) {
        if (openblas_nolapack.blas_get_num_threads() != threads) {
            openblas_nolapack.blas_set_num_threads(threads); // two racing callers both set it: harmless
        }
    }

    /** The thread count last given to OpenBLAS through JavaCPP's preset (-1 before the first); for tests and logs. */
    static int threadsInUse() {
        return openblas_nolapack.blas_get_num_threads();
    }

    /**
     * {@code c[m, n] = alpha * op(a) · op(b) + beta * c} on heap arrays, all row-major: {@code op(a)} is {@code a[m, k]}
     * or, with {@code transA}, the transpose of {@code a[k, m]}; {@code op(b)} is {@code b[k, n]} or, with
     * {@code transB}, the transpose of {@code b[n, k]}.
     */
    static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, float[] b,
            float beta, float[] c) {
        assert a.length == m * k && b.length == k * n && c.length == m * n
                : "sgemm " + m + "x" + n + "x" + k + ": operand sizes " + a.length + ", " + b.length + ", " + c.length;
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
        assert a.size >= (long) m * k && b.size >= (long) k * n && c.size >= (long) m * n
                : "sgemm " + m + "x" + n + "x" + k + ": scratch too small";
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasNoTrans,
                transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans, m, n, k, alpha, a.pointer, k,
                b.pointer, transB ? k : n, 0f, c.pointer, n);
    }

    /**
     * {@code c[m, n] = alpha * a[m, k] · b + beta * c} with {@code b} [k, n] off-heap (e.g. a widened weight) and
     * {@code a}, {@code c} on the heap.
     */
    static void sgemm(int m, int n, int k, float alpha, float[] a, Scratch b, float beta, float[] c) {
        assert a.length == m * k && b.size >= (long) k * n && c.length == m * n
                : "sgemm " + m + "x" + n + "x" + k + ": operand sizes";
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
            assert size <= Integer.MAX_VALUE : "scratch of " + size + " floats"; // FloatBuffer views need int indexes
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
