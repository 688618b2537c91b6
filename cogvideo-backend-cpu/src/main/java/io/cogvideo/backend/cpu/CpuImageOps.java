package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.VqVaeOps;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * The CPU backend's {@link VqVaeOps} op pack: the VQ-VAE tokenizer's convolutions, group norm, resampling, spatial
 * attention and codebook search on NCHW float32 tensors. Convolutions are im2col + one OpenBLAS GEMM per block of
 * samples on heap arrays; the attention's two products and the codebook's distance products are GEMMs as well;
 * everything else is plain Java loops on heap arrays. No ND4J arrays (they would be freed only by the garbage collector, and ND4J would bring its
 * own process-wide thread pool).
 *
 * <p>One instance per backend; its GEMMs run with the backend's OpenBLAS thread count; the convolution's im2col
 * and scatter run on the backend's {@link CpuThreads} (the other loops are serial). Inputs are raw {@link CpuTensor}s already validated by {@code CheckedBackend}. Thread-safe.
 */
final class CpuImageOps implements VqVaeOps {
    /**
     * Largest im2col buffer (floats) of a block of samples (16 MB); a sample larger than that is cut into bands of
     * output rows.
     */
    static final int IM2COL_LIMIT = 1 << 22;

    /** Smallest im2col buffer (floats) built on the workers; a smaller one is built on the calling thread. */
    static final int PARALLEL_MIN = 1 << 20;

    /** The backend's workers, for im2col and the scatter back to NCHW over a block's samples. */
    private final CpuThreads threads;
    /** OpenBLAS threads for this backend's GEMMs. */
    private final int blasThreads;

    CpuImageOps(CpuThreads threads, int blasThreads) {
        this.threads = threads;
        this.blasThreads = blasThreads;
    }

    // ------------------------------------------------------------------ convolution

    /**
     * im2col + one OpenBLAS GEMM per block of samples side by side: with {@code cols} [c·kh·kw, columns] the im2col
     * of the block's samples (or of a band of one sample's output rows), {@code W [o, c·kh·kw] · cols} is the
     * block's output [o, columns], scattered back to NCHW with the bias added. A block holds as many samples as keep
     * its column buffer under {@value #IM2COL_LIMIT} floats. The im2col of a block of at least {@value #PARALLEL_MIN}
     * floats (and a scatter of at least four times that) runs over (sample, channel) pairs on the backend's
     * {@link CpuThreads}, a smaller one on the calling thread; the GEMM runs on the backend's OpenBLAS threads. A 1x1 stride-1 unpadded convolution needs
     * no im2col: one GEMM per sample (measured: as fast as, or faster than, samples side by side at these sizes).
     */
    @Override
    public Tensor conv2d(Tensor xt, Tensor wt, Tensor bt, int stride, int padTop, int padBottom, int padLeft,
            int padRight) {
        CpuTensor x = (CpuTensor) xt; // [n, c, h, wd]
        CpuTensor w = (CpuTensor) wt; // [o, c, kh, kw]
        CpuTensor b = (CpuTensor) bt; // [o] or null
        int n = x.shape[0];
        int c = x.shape[1];
        int h = x.shape[2];
        int wd = x.shape[3];
        int o = w.shape[0];
        int kh = w.shape[2];
        int kw = w.shape[3];
        int hp = h + padTop + padBottom;
        int wp = wd + padLeft + padRight;
        Blas.useThreads(blasThreads);
        int ho = (hp - kh) / stride + 1;
        int wo = (wp - kw) / stride + 1;
        int k = c * kh * kw;
        int plane = ho * wo;
        // GEMMs through OpenBLAS on heap arrays (ND4J arrays here would be freed only by the garbage collector)
        float[] wm = w.heap(); // [o, k]
        float[] bias = b == null ? null : b.heap(); // [o]
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && padTop == 0 && padBottom == 0 && padLeft == 0
                && padRight == 0;
        float[] src = x.heap(); // [n, c, h, wd]
        if (pointwise) {
            return pointwise(src, n, c, o, ho, wo, wm, bias);
        }
        float[] out = new float[Math.multiplyExact(Math.multiplyExact(n, o), plane)]; // [n, o, ho, wo]
        long perSample = (long) k * plane;
        // a block: several whole samples, or (a sample too large for the limit) a band of one sample's output rows
        int samplesPerBlock = (int) Math.max(1, Math.min(n, IM2COL_LIMIT / Math.max(1, perSample)));
        int band = perSample <= IM2COL_LIMIT ? ho
                : Math.max(1, Math.min(ho, IM2COL_LIMIT / Math.max(1, k * wo)));
        for (int s0 = 0; s0 < n; s0 += samplesPerBlock) {
            int samples = Math.min(samplesPerBlock, n - s0);
            for (int oy0 = 0; oy0 < ho; oy0 += band) {
                int rows = Math.min(band, ho - oy0);
                int part = rows * wo; // columns of one sample in the block
                int cols = samples * part;
                int first = s0;
                int row0 = oy0;
                float[] col = new float[k * cols]; // [k, cols]
                // (sample, channel) pairs over the workers (a band of a single sample is parallel as well); a small
                // block on this thread: waking the workers would cost more
                forRange((long) k * cols >= PARALLEL_MIN, samples * c, u -> im2col(src, first + u / c, u % c, c, h,
                        wd, kh, kw, stride, padTop, padLeft, row0, rows, wo, col, cols, (u / c) * part));
                float[] r = new float[o * cols]; // [o, cols] = W [o, k] · cols [k, cols]
                Blas.sgemm(false, false, o, cols, k, 1f, wm, col, 0f, r);
                // (sample, output channel) pairs
                forRange(bias != null && (long) o * cols >= 4L * PARALLEL_MIN, samples * o, u -> {
                    int j = u / o;
                    int oc = u % o;
                    int from = oc * cols + j * part;
                    int to = ((first + j) * o + oc) * plane + row0 * wo;
                    if (bias == null) {
                        System.arraycopy(r, from, out, to, part);
                    } else {
                        float bv = bias[oc];
                        for (int i = 0; i < part; i++) {
                            out[to + i] = r[from + i] + bv;
                        }
                    }
                });
            }
        }
        return new CpuTensor(new int[] {n, o, ho, wo}, out);
    }

    /**
     * A 1x1 stride-1 unpadded convolution: one GEMM {@code W [o, c] · x[s] [c, h*w]} per sample, no im2col (a single
     * sample straight on the input array and into the output); the bias added in place.
     */
    private static CpuTensor pointwise(float[] src, int n, int c, int o, int ho, int wo, float[] wm, float[] bias) {
        int plane = ho * wo;
        float[] out = new float[Math.multiplyExact(Math.multiplyExact(n, o), plane)]; // [n, o, ho, wo]
        for (int in = 0; in < n; in++) {
            float[] xin = n == 1 ? src : Arrays.copyOfRange(src, in * c * plane, (in + 1) * c * plane); // [c, h*w]
            float[] res = n == 1 ? out : new float[o * plane]; // [o, h*w]
            Blas.sgemm(false, false, o, plane, c, 1f, wm, xin, 0f, res);
            if (res != out) {
                System.arraycopy(res, 0, out, in * o * plane, o * plane);
            }
        }
        if (bias != null) {
            for (int in = 0; in < n; in++) {
                for (int oc = 0; oc < o; oc++) {
                    float bv = bias[oc];
                    int base = (in * o + oc) * plane;
                    for (int i = 0; i < plane; i++) {
                        out[base + i] += bv;
                    }
                }
            }
        }
        return new CpuTensor(new int[] {n, o, ho, wo}, out);
    }

    /** {@code body(i)} for {@code i} in {@code [0, n)}: on the backend's workers if {@code parallel}, else here. */
    private void forRange(boolean parallel, int n, IntConsumer body) {
        if (parallel) {
            threads.forRange(0, n, body);
        } else {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
        }
    }

    /**
     * Fills {@code col[(ci*kh+ky)*kw+kx, offset + (oy-oy0)*wo+ox]} (rows of {@code width} floats) from channel
     * {@code ci} of sample {@code s} ({@code c} channels) for output rows {@code oy0 .. oy0+rows-1}; padding
     * positions are left as they are (zero).
     */
    static void im2col(float[] x, int s, int ci, int c, int h, int w, int kh, int kw, int stride,
            int padTop, int padLeft, int oy0, int rows, int wo, float[] col, int width, int offset) {
        int plane = (s * c + ci) * h * w;
        for (int ky = 0; ky < kh; ky++) {
            for (int kx = 0; kx < kw; kx++) {
                int row = ((ci * kh + ky) * kw + kx) * width + offset;
                for (int r = 0; r < rows; r++) {
                    int iy = (oy0 + r) * stride - padTop + ky;
                    if (iy < 0 || iy >= h) {
                        continue; // a padding row
                    }
                    int dst = row + r * wo;
                    int srcRow = plane + iy * w;
                    if (stride == 1) {
                        int ox0 = Math.max(0, padLeft - kx);
                        int ox1 = Math.min(wo, w + padLeft - kx);
                        if (ox1 > ox0) {
                            System.arraycopy(x, srcRow - padLeft + kx + ox0, col, dst + ox0, ox1 - ox0);
                        }
                    } else {
                        for (int ox = 0; ox < wo; ox++) {
                            int ix = ox * stride - padLeft + kx;
                            if (ix >= 0 && ix < w) {
                                col[dst + ox] = x[srcRow + ix];
                            }
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ normalisation, activation

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return groupNorm((CpuTensor) x, groups, (CpuTensor) gamma, (CpuTensor) beta, eps, false);
    }

    @Override
    public Tensor groupNormSwish(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return groupNorm((CpuTensor) x, groups, (CpuTensor) gamma, (CpuTensor) beta, eps, true);
    }

    /** Group norm of {@code x} [n, c, h, w], followed by swish if asked (one pass). */
    private static CpuTensor groupNorm(CpuTensor x, int groups, CpuTensor gamma, CpuTensor beta, float eps,
            boolean swish) {
        int[] s = x.shape;
        int n = s[0];
        int c = s[1];
        int hw = s[2] * s[3];
        float[] xs = x.heap();
        float[] g = gamma.heap();
        float[] b = beta.heap();
        float[] y = new float[xs.length];
        int cpg = c / groups;
        int len = cpg * hw;
        for (int in = 0; in < n; in++) {
            for (int gi = 0; gi < groups; gi++) {
                int start = (in * c + gi * cpg) * hw;
                double sum = 0;
                for (int i = 0; i < len; i++) {
                    sum += xs[start + i];
                }
                double mean = sum / len;
                double sq = 0;
                for (int i = 0; i < len; i++) {
                    double d = xs[start + i] - mean;
                    sq += d * d;
                }
                double rstd = 1.0 / Math.sqrt(sq / len + eps);
                for (int ci = 0; ci < cpg; ci++) {
                    int ch = gi * cpg + ci;
                    double scale = rstd * g[ch];
                    double shift = b[ch];
                    int off = start + ci * hw;
                    // centre in double: the folded form x * scale + (beta - mean * scale) cancels badly when
                    // |mean| >> std
                    for (int i = 0; i < hw; i++) {
                        float v = (float) ((xs[off + i] - mean) * scale + shift);
                        y[off + i] = swish ? swish(v) : v;
                    }
                }
            }
        }
        return new CpuTensor(x.shape.clone(), y);
    }

    static float swish(float v) {
        return v * (float) (1.0 / (1.0 + Math.exp(-v)));
    }

    @Override
    public Tensor swish(Tensor xt) {
        CpuTensor x = (CpuTensor) xt; // any shape
        float[] xs = x.heap();
        float[] y = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            y[i] = swish(xs[i]);
        }
        return new CpuTensor(x.shape.clone(), y);
    }

    // ------------------------------------------------------------------ resampling

    @Override
    public Tensor upsampleNearest2x(Tensor xt) {
        CpuTensor x = (CpuTensor) xt;
        int[] s = x.shape; // [n, c, h, w]
        int planes = s[0] * s[1];
        int h = s[2];
        int w = s[3];
        float[] xs = x.heap();
        float[] y = new float[xs.length * 4];
        int w2 = 2 * w;
        for (int p = 0; p < planes; p++) {
            int src = p * h * w;
            int dst = p * 4 * h * w;
            for (int iy = 0; iy < h; iy++) {
                int row = dst + 2 * iy * w2;
                for (int ix = 0; ix < w; ix++) {
                    float v = xs[src + iy * w + ix];
                    y[row + 2 * ix] = v;
                    y[row + 2 * ix + 1] = v;
                }
                System.arraycopy(y, row, y, row + w2, w2);
            }
        }
        return new CpuTensor(new int[] {s[0], s[1], 2 * h, w2}, y);
    }

    @Override
    public Tensor avgPool2x2(Tensor xt) {
        CpuTensor x = (CpuTensor) xt;
        int[] s = x.shape; // [n, c, h >= 2, w >= 2]
        int planes = s[0] * s[1];
        int h = s[2];
        int w = s[3];
        int ho = h / 2;
        int wo = w / 2;
        float[] xs = x.heap();
        float[] y = new float[planes * ho * wo];
        for (int p = 0; p < planes; p++) {
            int src = p * h * w;
            int dst = p * ho * wo;
            for (int oy = 0; oy < ho; oy++) {
                int r0 = src + 2 * oy * w;
                int r1 = r0 + w;
                for (int ox = 0; ox < wo; ox++) {
                    // the summation order of PyTorch's CPU kernel: row by row, then divide by the window size
                    float sum = xs[r0 + 2 * ox];
                    sum += xs[r0 + 2 * ox + 1];
                    sum += xs[r1 + 2 * ox];
                    sum += xs[r1 + 2 * ox + 1];
                    y[dst + oy * wo + ox] = sum / 4f;
                }
            }
        }
        return new CpuTensor(new int[] {s[0], s[1], ho, wo}, y);
    }

    // ------------------------------------------------------------------ attention

    @Override
    public Tensor spatialAttention(Tensor qt, Tensor kt, Tensor vt) {
        CpuTensor q = (CpuTensor) qt; // [n, c, h, w]
        CpuTensor k = (CpuTensor) kt; // [n, c, h, w]
        CpuTensor v = (CpuTensor) vt; // [n, c, h, w]
        int[] s = q.shape;
        Blas.useThreads(blasThreads);
        int n = s[0];
        int c = s[1];
        int p = s[2] * s[3];
        float scale = (float) Math.pow(c, -0.5);
        float[] qs = q.heap();
        float[] ks = k.heap();
        float[] vs = v.heap();
        float[] out = new float[n * c * p];
        for (int in = 0; in < n; in++) {
            float[] qi = Arrays.copyOfRange(qs, in * c * p, (in + 1) * c * p); // [c, p]
            float[] ki = Arrays.copyOfRange(ks, in * c * p, (in + 1) * c * p);
            float[] vi = Arrays.copyOfRange(vs, in * c * p, (in + 1) * c * p);
            float[] w = new float[p * p];
            Blas.sgemm(true, false, p, p, c, 1f, qi, ki, 0f, w); // [p (query), p (key)] = qᵀ k
            for (int i = 0; i < p; i++) {
                int row = i * p;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < p; j++) {
                    float sc = w[row + j] * scale;
                    w[row + j] = sc;
                    if (sc > max) {
                        max = sc;
                    }
                }
                double sum = 0;
                for (int j = 0; j < p; j++) {
                    float e = (float) Math.exp(w[row + j] - max);
                    w[row + j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int j = 0; j < p; j++) {
                    w[row + j] *= inv;
                }
            }
            float[] res = new float[c * p];
            Blas.sgemm(false, true, c, p, p, 1f, vi, w, 0f, res); // [c, p] = v probsᵀ
            System.arraycopy(res, 0, out, in * c * p, c * p);
        }
        return new CpuTensor(s.clone(), out);
    }

    // ------------------------------------------------------------------ codebook

    @Override
    public int[] codebookNearest(Tensor zt, Tensor codebookT) {
        CpuTensor z = (CpuTensor) zt; // [n, d, h, w]
        CpuTensor codebook = (CpuTensor) codebookT; // [kn, d]
        int[] s = z.shape;
        int n = s[0];
        int d = s[1];
        int p = s[2] * s[3];
        int kn = codebook.shape[0];
        float[] e = codebook.heap(); // [kn, d]
        float[] ee = new float[kn]; // |e_k|², accumulated in double
        for (int ki = 0; ki < kn; ki++) {
            double sum = 0;
            for (int di = 0; di < d; di++) {
                double ev = e[ki * d + di];
                sum += ev * ev;
            }
            ee[ki] = (float) sum;
        }
        Blas.useThreads(blasThreads);
        float[] zs = z.heap();
        int[] ids = new int[n * p];
        float[] best = new float[p];
        int[] arg = new int[p];
        double[] zzSum = new double[p];
        float[] zz = new float[p];
        float[] dots = new float[kn * p];
        for (int in = 0; in < n; in++) {
            Arrays.fill(zzSum, 0.0);
            int zb = in * d * p;
            for (int di = 0; di < d; di++) {
                for (int i = 0; i < p; i++) {
                    double zv = zs[zb + di * p + i];
                    zzSum[i] += zv * zv;
                }
            }
            for (int i = 0; i < p; i++) {
                zz[i] = (float) zzSum[i];
            }
            float[] zn = Arrays.copyOfRange(zs, zb, zb + d * p); // [d, p]
            Blas.sgemm(false, false, kn, p, d, 1f, e, zn, 0f, dots); // [kn, p] = e · z[in]
            Arrays.fill(best, Float.POSITIVE_INFINITY);
            Arrays.fill(arg, 0);
            for (int ki = 0; ki < kn; ki++) {
                int row = ki * p;
                float ek = ee[ki];
                for (int i = 0; i < p; i++) {
                    float dist = (zz[i] - 2f * dots[row + i]) + ek;
                    if (dist < best[i]) { // strict: the lowest index wins ties
                        best[i] = dist;
                        arg[i] = ki;
                    }
                }
            }
            System.arraycopy(arg, 0, ids, in * p, p);
        }
        return ids;
    }

    @Override
    public Tensor codebookLookup(Tensor codebookT, int[] ids, int batch, int height, int width) {
        CpuTensor codebook = (CpuTensor) codebookT; // [kn, d]; ids in [0, kn)
        int d = codebook.shape[1];
        int p = height * width;
        float[] tab = codebook.heap();
        float[] rows = new float[ids.length * d];
        for (int i = 0; i < ids.length; i++) {
            System.arraycopy(tab, ids[i] * d, rows, i * d, d);
        }
        float[] out = new float[rows.length];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < p; i++) {
                int src = (b * p + i) * d;
                for (int di = 0; di < d; di++) {
                    out[(b * d + di) * p + i] = rows[src + di];
                }
            }
        }
        return new CpuTensor(new int[] {batch, d, height, width}, out);
    }
}
