package io.cogvideo.backend.cpu;

/**
 * float16 weight kernels: a matrix-vector product over a transposed float16 weight, widened to float32 lane by lane
 * (float32 arithmetic, in the same order as {@link JavaKernels#linearTChunk}, so float16 and float32 storage of the
 * same values give bit-identical results). On Java 21+ the intrinsic version ({@code Float.float16ToFloat}, which the
 * JIT vectorises) is used, else a table version; both widen exactly.
 */
final class Fp16 {
    /** The kernels in use. */
    static final Kernel KERNEL = choose();
    /** Whether the vectorised (Java 21+) kernels are in use. */
    static final boolean VECTORIZED = KERNEL.vectorized();

    private Fp16() {
    }

    /** One implementation of the float16 kernels. */
    interface Kernel {
        boolean vectorized();

        float toFloat(short h);

        /** Widens {@code n} values of {@code src[from..]} into {@code dst[at..]}. */
        void toFloats(short[] src, int from, float[] dst, int at, int n);

        /** {@code y[r, o0:o1] += x[r, :] · w[:, o0:o1]}, {@code w} float16 [in, out] (a transposed weight). */
        void linearTChunk(float[] x, int rows, int in, short[] w, int out, float[] y, int o0, int o1);
    }

    private static Kernel choose() {
        if (Runtime.version().feature() >= 21 && !Boolean.getBoolean("cogvideo.cpu.fp16Table")) {
            try {
                return (Kernel) Class.forName("io.cogvideo.backend.cpu.Fp16Intrinsic").getDeclaredConstructor()
                        .newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                // fall through to the table version
            }
        }
        return new Fp16Table();
    }

    static float toFloat(short h) {
        return KERNEL.toFloat(h);
    }

    static void toFloats(short[] src, int from, float[] dst, int at, int n) {
        KERNEL.toFloats(src, from, dst, at, n);
    }

    static void linearTChunk(float[] x, int rows, int in, short[] w, int out, float[] y, int o0, int o1) {
        KERNEL.linearTChunk(x, rows, in, w, out, y, o0, o1);
    }
}
