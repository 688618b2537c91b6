package io.cogvideo.backend.cpu;

import io.cogvideo.spi.AttentionMask;

/** Plain-Java kernels for the small operations of cached steps, on row-major heap arrays. */
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
        float[] y = new float[rows * out];
        if (b != null) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(b, 0, y, r * out, out);
            }
        }
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
        int parts = x.length >= (1 << 16) ? Math.min(rows, threads.count() * 4) : 1;
        threads.forRange(0, parts, part -> {
            int r0 = (int) ((long) rows * part / parts);
            int r1 = (int) ((long) rows * (part + 1) / parts);
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
     * GELU, tanh form as the original ({@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}), with
     * {@code tanh(u) = 1 - 2 / (exp(2u) + 1)} (exact in the limits, float32-accurate in between).
     */
    static float[] gelu(float[] x, CpuThreads threads) {
        float[] y = new float[x.length];
        int n = x.length;
        int parts = n >= (1 << 16) ? threads.count() * 4 : 1;
        threads.forRange(0, parts, part -> {
            int i0 = (int) ((long) n * part / parts);
            int i1 = (int) ((long) n * (part + 1) / parts);
            for (int i = i0; i < i1; i++) {
                double v = x[i];
                double u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
                double t = 1.0 - 2.0 / (Math.exp(2.0 * u) + 1.0);
                y[i] = (float) (0.5 * v * (1.0 + t));
            }
        });
        return y;
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
            int parts = parallel ? Math.min(jobs, threads.count()) : 1;
            threads.forRange(0, parts, part -> {
              for (int job = jobs * part / parts; job < jobs * (part + 1) / parts; job++) {
                int b = job / heads;
                int h = job % heads;
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
                float sum = 0;
                for (int c = 0; c < visible; c++) {
                    float e = (float) Math.exp(scores[c] - max);
                    scores[c] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int c = 0; c < visible; c++) {
                    float p = scores[c] * inv;
                    int vo = kb + keys[c] * width + h * d;
                    for (int j = 0; j < d; j++) {
                        out[hq + j] += p * v[vo + j];
                    }
                }
              }
            });
        }
        return out;
    }

    /** CogView2's local attention (see {@link io.cogvideo.spi.LocalAttentionSpec}); rows of one batch entry in parallel. */
    static float[] localAttention(float[] q, float[] kf, float[] vf, float[] kc, float[] vc, int batch, int width,
            io.cogvideo.spi.LocalAttentionSpec spec) {
        int heads = spec.heads();
        int d = width / heads;
        int fg = spec.fineGrid();
        int cg = spec.coarseGrid();
        int n = fg * fg;
        int nc = cg * cg;
        float scale = (float) (1.0 / Math.sqrt(d));
        float[] out = new float[batch * n * width];
        java.util.stream.IntStream.range(0, batch * n).parallel().forEach(row -> {
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
