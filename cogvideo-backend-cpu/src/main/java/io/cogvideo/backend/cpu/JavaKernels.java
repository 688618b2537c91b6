package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;

/**
 * Plain-Java kernels for the small operations of cached steps, on row-major heap arrays. Parallel loops run on the
 * calling backend's {@link CpuThreads}; nothing here holds state.
 */
final class JavaKernels {
    private JavaKernels() {
    }

    /** Inputs per cache tile of a matrix-vector product. */
    static final int TILE_IN = 128;
    /** Outputs per cache tile of a matrix-vector product (a float16 tile of 128 x 512 is 128 KiB). */
    static final int TILE_OUT = 512;

    /**
     * {@code y[r, :] = x[r, :] · w + b} for a few rows, with the weight stored transposed ({@code w} is [in, out],
     * row-major, float32 {@code float[]} or float16 {@code short[]}): the inner loop is an axpy over contiguous
     * outputs, which the JIT vectorises; four input rows per pass, so {@code y} is loaded and stored once per four
     * multiply-adds; the weight is read from memory once for all rows (cache tiles). Output columns are split across
     * threads when the work is large.
     */
    static float[] linearT(float[] x, int rows, int in, Object w, int out, float[] b, CpuThreads threads) {
        float[] y = biasRows(b, rows, out);
        int chunks = (long) in * out >= (1L << 16) ? threads.count() : 1;
        int step = ((out + chunks - 1) / chunks + 15) / 16 * 16;
        threads.forRange(0, (out + step - 1) / step, chunk -> {
            int o0 = chunk * step;
            int o1 = Math.min(out, o0 + step);
            if (w instanceof short[] h) {
                Fp16.linearTChunk(x, rows, in, h, out, y, o0, o1);
            } else {
                linearTChunk(x, rows, in, (float[]) w, out, y, o0, o1);
            }
        });
        return y;
    }

    /** A new [rows, out] array with every row set to {@code b} (zeros when {@code b} is null). */
    static float[] biasRows(float[] b, int rows, int out) {
        float[] y = new float[rows * out];
        if (b != null) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(b, 0, y, r * out, out);
            }
        }
        return y;
    }

    /** The float32 twin of {@link Fp16#linearTChunk}: {@code y[r, o0:o1] += x[r, :] · w[:, o0:o1]}. */
    static void linearTChunk(float[] x, int rows, int in, float[] w, int out, float[] y, int o0, int o1) {
        for (int ob = o0; ob < o1; ob += TILE_OUT) {
            int oe = Math.min(o1, ob + TILE_OUT);
            for (int ib = 0; ib < in; ib += TILE_IN) {
                int ie = Math.min(in, ib + TILE_IN);
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
                            y[yo + o] += x0 * w[w0 + o] + x1 * w[w1 + o] + x2 * w[w2 + o] + x3 * w[w3 + o];
                        }
                    }
                    for (; i < ie; i++) {
                        float xi = x[xo + i];
                        int w0 = i * out;
                        for (int o = ob; o < oe; o++) {
                            y[yo + o] += xi * w[w0 + o];
                        }
                    }
                }
            }
        }
    }

    /** The largest of {@code x[0..n)} ({@code -inf} for none), eight independent running maxima. */
    static float max(float[] x, int n) {
        float m0 = Float.NEGATIVE_INFINITY;
        float m1 = m0;
        float m2 = m0;
        float m3 = m0;
        float m4 = m0;
        float m5 = m0;
        float m6 = m0;
        float m7 = m0;
        int c = 0;
        for (; c + 7 < n; c += 8) {
            m0 = Math.max(m0, x[c]);
            m1 = Math.max(m1, x[c + 1]);
            m2 = Math.max(m2, x[c + 2]);
            m3 = Math.max(m3, x[c + 3]);
            m4 = Math.max(m4, x[c + 4]);
            m5 = Math.max(m5, x[c + 5]);
            m6 = Math.max(m6, x[c + 6]);
            m7 = Math.max(m7, x[c + 7]);
        }
        for (; c < n; c++) {
            m0 = Math.max(m0, x[c]);
        }
        return Math.max(Math.max(Math.max(m0, m1), Math.max(m2, m3)), Math.max(Math.max(m4, m5), Math.max(m6, m7)));
    }

    /** {@code x[0] + ... + x[n-1]} with eight independent partial sums (not the sequential order). */
    static float sum(float[] x, int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        float s4 = 0;
        float s5 = 0;
        float s6 = 0;
        float s7 = 0;
        int c = 0;
        for (; c + 7 < n; c += 8) {
            s0 += x[c];
            s1 += x[c + 1];
            s2 += x[c + 2];
            s3 += x[c + 3];
            s4 += x[c + 4];
            s5 += x[c + 5];
            s6 += x[c + 6];
            s7 += x[c + 7];
        }
        for (; c < n; c++) {
            s0 += x[c];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[ao + i] * b[bo + i];
            s1 += a[ao + i + 1] * b[bo + i + 1];
            s2 += a[ao + i + 2] * b[bo + i + 2];
            s3 += a[ao + i + 3] * b[bo + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[ao + i] * b[bo + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    static float[] layerNorm(float[] x, int h, float[] g, float[] b, float eps, CpuThreads threads) {
        float[] y = new float[x.length];
        int rows = x.length / h;
        int parts = x.length >= (1 << 16) ? threads.count() * 4 : 1;
        threads.forParts(rows, parts, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * h;
                double mean = 0;
                for (int i = 0; i < h; i++) {
                    mean += x[o + i];
                }
                mean /= h;
                double var = 0;
                for (int i = 0; i < h; i++) {
                    double c = x[o + i] - mean;
                    var += c * c;
                }
                var /= h;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                float m = (float) mean;
                for (int i = 0; i < h; i++) {
                    y[o + i] = (x[o + i] - m) * inv * g[i] + b[i];
                }
            }
        });
        return y;
    }

    /**
     * GELU, tanh form as the original ({@code 0.5 x (1 + tanh(u))}, {@code u = sqrt(2/pi) (x + 0.044715 x^3)}),
     * written without cancellation as {@code x / (1 + e)} for {@code x >= 0} and {@code x e / (1 + e)} for
     * {@code x < 0}, with {@code e = exp(-2 |u|)} (a non-positive argument for {@link #expNonPositive});
     * float32-accurate, also relatively in the negative tail.
     */
    static float[] gelu(float[] x, CpuThreads threads) {
        float[] y = new float[x.length];
        int n = x.length;
        int parts = n >= (1 << 16) ? threads.count() * 4 : 1;
        threads.forParts(n, parts, (i0, i1) -> {
            float[] e = new float[EXP_CHUNK];
            int[] m = new int[EXP_CHUNK];
            float[] r = new float[EXP_CHUNK];
            for (int c0 = i0; c0 < i1; c0 += EXP_CHUNK) {
                int len = Math.min(EXP_CHUNK, i1 - c0);
                for (int i = 0; i < len; i++) {
                    float v = x[c0 + i];
                    e[i] = -2f * Math.abs(0.7978845608f * (v + 0.044715f * v * v * v));
                }
                expNonPositive(e, len, m, r);
                for (int i = 0; i < len; i++) {
                    float v = x[c0 + i];
                    float t = e[i];
                    y[c0 + i] = (v >= 0f ? v : v * t) / (1f + t);
                }
            }
        });
        return y;
    }

    /** Chunk length for {@link #expNonPositive} scratch arrays. */
    static final int EXP_CHUNK = 1024;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;

    /**
     * {@code x[i] = exp(x[i])} for {@code x[i] <= 0} (arguments below -43 count as -43, {@code exp(-43) = 2e-19}),
     * relative error below 3e-7. Written as short loops of float and int arithmetic that the JIT vectorises (about
     * 8x faster than {@code Math.exp}): {@code x = -m ln2 + r}, a degree-6 polynomial for {@code exp(r)}, and
     * {@code 2^m} built exactly from the bits of {@code m}. {@code m}, {@code r}: scratch of at least {@code n}.
     */
    static void expNonPositive(float[] x, int n, int[] m, float[] r) {
        for (int c = 0; c < n; c++) {
            float v = Math.max(x[c], -43f);
            int k = (int) (0.5f - v * LOG2E); // round(-v log2 e), 0..62
            float fk = k;
            m[c] = k;
            r[c] = v + fk * LN2_HI + fk * LN2_LO; // v + k ln2, |r| <= ln2 / 2
        }
        for (int c = 0; c < n; c++) {
            int k = m[c];
            x[c] = (1f + (k & 1)) * (1f + 3f * ((k >> 1) & 1)) * (1f + 15f * ((k >> 2) & 1));
        }
        for (int c = 0; c < n; c++) {
            int k = m[c];
            x[c] *= (1f + 255f * ((k >> 3) & 1)) * (1f + 65535f * ((k >> 4) & 1))
                    * (1f + 4294967295f * ((k >> 5) & 1)); // x = 2^k exactly
        }
        for (int c = 0; c < n; c++) {
            float t = r[c];
            float p = 1.3981999507e-3f;
            p = p * t + 8.3334519073e-3f;
            p = p * t + 4.1665795894e-2f;
            p = p * t + 1.6666665459e-1f;
            p = p * t + 5.0000001201e-1f;
            p = p * t * t + t + 1f;
            x[c] = p / x[c];
        }
    }

    /**
     * Attention for a few query rows per batch entry: the visible keys of each query row are listed once from the
     * structured mask and shared by all heads.
     */
    static float[] attention(float[] q, float[] k, float[] v, int batch, int nq, int kRows, int nk, int width,
            AttentionMask mask, CpuThreads threads) {
        int heads = mask.heads();
        int d = width / heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        int text = Math.min(mask.textLength(), nk);
        float[] out = new float[batch * nq * width];
        int[] keys = new int[nk];
        for (int qi = 0; qi < nq; qi++) {
            int count = 0;
            for (int kj = 0; kj < nk; kj++) {
                if (mask.visible(qi, kj)) {
                    keys[count++] = kj;
                }
            }
            final int visible = count;
            final int row = qi;
            boolean parallel = (long) batch * heads * visible * d >= (1L << 17);
            int jobs = batch * heads;
            threads.forParts(jobs, parallel ? threads.count() : 1, (j0, j1) -> {
              for (int job = j0; job < j1; job++) {
                int b = job / heads;
                int h = job % heads;
                if (visible == 0) {
                    continue; // a row that sees no key gives zeros (as CpuAttention and the CUDA kernels)
                }
                float[] scores = new float[visible];
                int hq = (b * nq + row) * width + h * d;
                int kb = b * kRows * width;
                float max = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < visible; c++) {
                    int kj = keys[c];
                    float s = dot(q, hq, k, kb + kj * width + h * d, d) * scale;
                    if (kj < text) {
                        s += mask.textBoost();
                    }
                    scores[c] = s;
                    if (s > max) {
                        max = s;
                    }
                }
                for (int c = 0; c < visible; c++) {
                    scores[c] -= max;
                }
                expNonPositive(scores, visible, new int[visible], new float[visible]);
                float sum = 0;
                for (int c = 0; c < visible; c++) {
                    sum += scores[c];
                }
                // weighted sum of the value rows, four keys per pass (the accumulator is loaded and stored once per
                // four rows), normalised once at the end
                float[] acc = new float[d];
                int c = 0;
                for (; c + 3 < visible; c += 4) {
                    float p0 = scores[c];
                    float p1 = scores[c + 1];
                    float p2 = scores[c + 2];
                    float p3 = scores[c + 3];
                    int v0 = kb + keys[c] * width + h * d;
                    int v1 = kb + keys[c + 1] * width + h * d;
                    int v2 = kb + keys[c + 2] * width + h * d;
                    int v3 = kb + keys[c + 3] * width + h * d;
                    for (int j = 0; j < d; j++) {
                        acc[j] += p0 * v[v0 + j] + p1 * v[v1 + j] + p2 * v[v2 + j] + p3 * v[v3 + j];
                    }
                }
                for (; c < visible; c++) {
                    float p = scores[c];
                    int vo = kb + keys[c] * width + h * d;
                    for (int j = 0; j < d; j++) {
                        acc[j] += p * v[vo + j];
                    }
                }
                float inv = 1f / sum;
                for (int j = 0; j < d; j++) {
                    out[hq + j] = acc[j] * inv;
                }
              }
            });
        }
        return out;
    }

    /**
     * CogView2's local attention (see {@link io.cogvideo.spi.LocalAttentionSpec}); query rows split across
     * {@code threads}.
     *
     * @param q  [batch, fineGrid², width]; kf, vf the same
     * @param kc [batch, coarseGrid², width]; vc the same
     * @return [batch, fineGrid², width]
     */
    static float[] localAttention(float[] q, float[] kf, float[] vf, float[] kc, float[] vc, int batch, int width,
            io.cogvideo.spi.LocalAttentionSpec spec, CpuThreads threads) {
        int heads = spec.heads();
        int d = width / heads;
        int fg = spec.fineGrid();
        int cg = spec.coarseGrid();
        int n = fg * fg;
        int nc = cg * cg;
        float scale = (float) (1.0 / Math.sqrt(d));
        float[] out = new float[batch * n * width];
        threads.forRange(0, batch * n, row -> {
            int b = row / n;
            int pos = row % n;
            int i = pos / fg;
            int j = pos % fg;
            int maxKeys = spec.coarseKernelH() * spec.coarseKernelW() + spec.fineKernelH() * spec.fineKernelW();
            int[] keys = new int[maxKeys];
            boolean[] coarse = new boolean[maxKeys];
            int count = 0;
            int ci = i * cg / fg;
            int cj = j * cg / fg;
            for (int di = -spec.coarseKernelH() / 2; di <= spec.coarseKernelH() / 2; di++) {
                for (int dj = -spec.coarseKernelW() / 2; dj <= spec.coarseKernelW() / 2; dj++) {
                    int r = ci + di;
                    int c = cj + dj;
                    if (r >= 0 && r < cg && c >= 0 && c < cg) {
                        keys[count] = r * cg + c;
                        coarse[count++] = true;
                    }
                }
            }
            for (int di = -spec.fineKernelH() / 2; di <= spec.fineKernelH() / 2; di++) {
                for (int dj = -spec.fineKernelW() / 2; dj <= spec.fineKernelW() / 2; dj++) {
                    int r = i + di;
                    int c = j + dj;
                    if (r >= 0 && r < fg && c >= 0 && c < fg) {
                        keys[count] = r * fg + c;
                        coarse[count++] = false;
                    }
                }
            }
            float[] scores = new float[count];
            int qo = row * width;
            for (int h = 0; h < heads; h++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < count; t++) {
                    float s = coarse[t]
                            ? dot(q, qo + h * d, kc, (b * nc + keys[t]) * width + h * d, d) * scale + spec.coarseBoost()
                            : dot(q, qo + h * d, kf, (b * n + keys[t]) * width + h * d, d) * scale;
                    scores[t] = s;
                    max = Math.max(max, s);
                }
                float sum = 0;
                for (int t = 0; t < count; t++) {
                    scores[t] = (float) Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                float inv = 1f / sum;
                for (int t = 0; t < count; t++) {
                    float p = scores[t] * inv;
                    float[] v = coarse[t] ? vc : vf;
                    int vo = (b * (coarse[t] ? nc : n) + keys[t]) * width + h * d;
                    for (int e = 0; e < d; e++) {
                        out[qo + h * d + e] += p * v[vo + e];
                    }
                }
            }
        });
        return out;
    }
}
