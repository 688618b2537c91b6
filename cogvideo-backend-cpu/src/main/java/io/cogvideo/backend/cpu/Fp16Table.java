package io.cogvideo.backend.cpu;

/** The Java 17 float16 kernels: widening through a 65536-entry table (scalar loads). */
final class Fp16Table implements Fp16.Kernel {
    @Override
    public boolean vectorized() {
        return false;
    }

    private static final float[] TABLE = new float[65536];

    static {
        for (int i = 0; i < TABLE.length; i++) {
            TABLE[i] = io.cogvideo.spi.Half.toFloat((short) i);
        }
    }

    @Override
    public float toFloat(short h) {
        return TABLE[h & 0xffff];
    }

    /** Widens {@code n} values of {@code src[from..]} into {@code dst[at..]}. */
    @Override
    public void toFloats(short[] src, int from, float[] dst, int at, int n) {
        for (int i = 0; i < n; i++) {
            dst[at + i] = TABLE[src[from + i] & 0xffff];
        }
    }

    /**
     * {@code y[r, o] += sum_i x[r, i] * w[i, o]} for {@code o} in {@code [o0, o1)}, {@code w} float16 [in, out]
     * (the transpose of the checkpoint's [out, in] weight). Tiles of {@link JavaKernels#TILE_IN} inputs by
     * {@link JavaKernels#TILE_OUT} outputs stay in cache while every row uses them.
     */
    @Override
    public void linearTChunk(float[] x, int rows, int in, short[] w, int out, float[] y, int o0, int o1) {
        for (int ob = o0; ob < o1; ob += JavaKernels.TILE_OUT) {
            int oe = Math.min(o1, ob + JavaKernels.TILE_OUT);
            for (int ib = 0; ib < in; ib += JavaKernels.TILE_IN) {
                int ie = Math.min(in, ib + JavaKernels.TILE_IN);
                for (int r = 0; r < rows; r++) {
                    int xo = r * in;
                    int yo = r * out;
                    int i = ib;
                    for (; i + 3 < ie; i += 4) {
                        float x0 = x[xo + i];
                        float x1 = x[xo + i + 1];
                        float x2 = x[xo + i + 2];
                        float x3 = x[xo + i + 3];
                        int w0 = i * out;
                        int w1 = w0 + out;
                        int w2 = w1 + out;
                        int w3 = w2 + out;
                        for (int o = ob; o < oe; o++) {
                            y[yo + o] += x0 * TABLE[w[w0 + o] & 0xffff] + x1 * TABLE[w[w1 + o] & 0xffff]
                                    + x2 * TABLE[w[w2 + o] & 0xffff] + x3 * TABLE[w[w3 + o] & 0xffff];
                        }
                    }
                    for (; i < ie; i++) {
                        float xi = x[xo + i];
                        int w0 = i * out;
                        for (int o = ob; o < oe; o++) {
                            y[yo + o] += xi * TABLE[w[w0 + o] & 0xffff];
                        }
                    }
                }
            }
        }
    }
}
