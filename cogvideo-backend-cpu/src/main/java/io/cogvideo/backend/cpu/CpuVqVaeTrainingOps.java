package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.VqVaeTrainingOps;
import java.util.Arrays;

/**
 * The CPU backend's {@link VqVaeTrainingOps}: float32 kernels directly on the {@link CpuTensor} heap arrays.
 *
 * <p><b>Convolution backward</b> is im2col + OpenBLAS GEMMs, as the forward ({@link CpuImageOps}), over blocks of
 * several samples at once: with {@code cols} [c·kh·kw, columns] the im2col of the block's samples side by side and
 * {@code dY} [o, columns] their output gradients, {@code dW += dY · colsᵀ} and {@code dCols = Wᵀ · dY}, scattered
 * back into {@code dX} by col2im. A block holds as many samples as keep its column buffer under
 * {@value #COLUMN_LIMIT} floats; a sample larger than that is cut into bands of output rows. Putting samples side
 * by side makes the small maps of the deep layers (12x12: 144 columns a sample) one well-shaped GEMM instead of
 * many thin ones; the GEMMs run on the backend's OpenBLAS threads, im2col and col2im over the block's samples on its
 * {@link CpuThreads}. (Measured against running samples in parallel with one-thread GEMMs and per-worker
 * {@code dW} partials: as fast at [8, 32, 48, 48], about twice as fast at [8, 128, 12, 12].)
 *
 * <p><b>Spatial attention backward</b> is four GEMMs per sample (scores, {@code dV = dOut · A},
 * {@code dA = dOutᵀ v}, {@code dQ = k · dSᵀ}, {@code dK = q · dS}), samples in parallel on the workers with
 * one-thread GEMMs (a single sample: the backend's OpenBLAS threads). Group norm, swish and the resampling backwards
 * are loops over (sample, group) or planes on the workers.
 *
 * <p><b>Precision.</b> Products are float32 (OpenBLAS, which also accumulates {@code dW} over the blocks); every
 * reduction outside a GEMM (group statistics, bias, γ and β gradients, the softmax sums) runs in double.
 *
 * <p>Like every pack it assumes well-formed inputs ({@code CheckedBackend} validates them first). Thread-safe.
 */
final class CpuVqVaeTrainingOps implements VqVaeTrainingOps {
    /** Largest im2col buffer (floats) of a block of samples; a larger sample is cut into bands of output rows. */
    static final int COLUMN_LIMIT = 1 << 22;

    private final CpuThreads threads;
    private final int blasThreads;

    CpuVqVaeTrainingOps(CpuThreads threads, int blasThreads) {
        this.threads = threads;
        this.blasThreads = blasThreads;
    }

    private static CpuTensor t(Tensor x) {
        return (CpuTensor) x;
    }

    /**
     * Runs {@code body(from, to)} over contiguous parts of the {@code n} samples, one per worker: in parallel with
     * one-thread GEMMs when there are several samples and workers, else on the calling thread with the backend's
     * OpenBLAS threads.
     */
    private void overSamples(int n, CpuThreads.Range body) {
        int parts = Math.min(n, threads.count());
        if (parts <= 1) {
            Blas.useThreads(blasThreads);
            body.run(0, n);
            return;
        }
        Blas.useThreads(1); // GEMMs of one sample run inside the parallel loop over samples
        try {
            threads.forParts(n, parts, body);
        } finally {
            Blas.useThreads(blasThreads);
        }
    }

    // ---------------------------------------------------------------- convolution

    @Override
    public Conv2dGrads conv2dBackward(Tensor xt, Tensor wt, Tensor dyt, int stride, int padTop, int padBottom,
            int padLeft, int padRight, boolean inputGrad, boolean hasBias) {
        CpuTensor x = t(xt); // [n, c, h, wd]
        CpuTensor w = t(wt); // [o, c, kh, kw]
        CpuTensor dy = t(dyt); // [n, o, ho, wo]
        int n = x.shape[0];
        int c = x.shape[1];
        int h = x.shape[2];
        int wd = x.shape[3];
        int o = w.shape[0];
        int kh = w.shape[2];
        int kw = w.shape[3];
        int ho = dy.shape[2];
        int wo = dy.shape[3];
        int k = c * kh * kw;
        int plane = ho * wo;
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && padTop == 0 && padBottom == 0 && padLeft == 0
                && padRight == 0;
        long perSample = (long) k * plane;
        // a block: several whole samples, or (a sample too large for the limit) a band of one sample's output rows
        int samplesPerBlock = (int) Math.max(1, Math.min(n, COLUMN_LIMIT / Math.max(1, perSample)));
        int band = perSample <= COLUMN_LIMIT || pointwise ? ho
                : Math.max(1, Math.min(ho, COLUMN_LIMIT / Math.max(1, k * wo)));
        float[] xs = x.heap();
        float[] ws = w.heap(); // [o, k]
        float[] dys = dy.heap();
        float[] dx = inputGrad ? new float[n * c * h * wd] : null;
        float[] dw = new float[o * k];
        Blas.useThreads(blasThreads);
        for (int s0 = 0; s0 < n; s0 += samplesPerBlock) {
            int samples = Math.min(samplesPerBlock, n - s0);
            for (int oy0 = 0; oy0 < ho; oy0 += band) {
                int rows = Math.min(band, ho - oy0);
                int part = rows * wo; // columns of one sample in the block
                int cols = samples * part;
                int first = s0;
                int row0 = oy0;
                float[] dyBlock = new float[o * cols]; // [o, cols]
                float[] col = new float[k * cols]; // [k, cols]
                threads.forRange(0, samples, j -> {
                    int s = first + j;
                    for (int oc = 0; oc < o; oc++) {
                        System.arraycopy(dys, (s * o + oc) * plane + row0 * wo, dyBlock, oc * cols + j * part, part);
                    }
                    if (pointwise) {
                        for (int ci = 0; ci < c; ci++) {
                            System.arraycopy(xs, (s * c + ci) * plane, col, ci * cols + j * part, part);
                        }
                    } else {
                        im2col(xs, s, c, h, wd, kh, kw, stride, padTop, padLeft, row0, rows, wo, col, cols,
                                j * part);
                    }
                });
                Blas.sgemm(false, true, o, k, cols, 1f, dyBlock, col, 1f, dw); // dW += dY [o, cols] · colsᵀ
                if (dx != null) {
                    float[] dcol = col; // reused: [k, cols] = Wᵀ [k, o] · dY [o, cols]
                    Blas.sgemm(true, false, k, cols, o, 1f, ws, dyBlock, 0f, dcol);
                    threads.forRange(0, samples, j -> {
                        int s = first + j;
                        if (pointwise) {
                            for (int ci = 0; ci < c; ci++) {
                                System.arraycopy(dcol, ci * cols + j * part, dx, (s * c + ci) * plane, part);
                            }
                        } else {
                            col2im(dcol, cols, j * part, dx, s, c, h, wd, kh, kw, stride, padTop, padLeft, row0,
                                    rows, wo);
                        }
                    });
                }
            }
        }
        CpuTensor dX = dx == null ? null : new CpuTensor(x.shape.clone(), dx);
        CpuTensor dB = hasBias ? new CpuTensor(new int[] {o}, channelSums(dys, n, o, plane)) : null;
        return new Conv2dGrads(dX, new CpuTensor(w.shape.clone(), dw), dB);
    }

    /** {@link CpuImageOps#im2col} of every channel of sample {@code s} (the forward convolution's columns). */
    private static void im2col(float[] x, int s, int c, int h, int w, int kh, int kw, int stride, int padTop,
            int padLeft, int oy0, int rows, int wo, float[] col, int width, int offset) {
        for (int ci = 0; ci < c; ci++) {
            CpuImageOps.im2col(x, s, ci, c, h, w, kh, kw, stride, padTop, padLeft, oy0, rows, wo, col, width, offset);
        }
    }

    /**
     * Adds {@code dcol[(ci*kh+ky)*kw+kx, offset + (oy-oy0)*wo+ox]} (rows of {@code width} floats) into sample
     * {@code s} of {@code dx}: the transpose of {@link #im2col}.
     */
    private static void col2im(float[] dcol, int width, int offset, float[] dx, int s, int c, int h, int w, int kh,
            int kw, int stride, int padTop, int padLeft, int oy0, int rows, int wo) {
        for (int ci = 0; ci < c; ci++) {
            int plane = (s * c + ci) * h * w;
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    int row = ((ci * kh + ky) * kw + kx) * width + offset;
                    for (int r = 0; r < rows; r++) {
                        int iy = (oy0 + r) * stride - padTop + ky;
                        if (iy < 0 || iy >= h) {
                            continue; // a padding row
                        }
                        int src = row + r * wo;
                        int dst = plane + iy * w;
                        if (stride == 1) {
                            int ox0 = Math.max(0, padLeft - kx);
                            int ox1 = Math.min(wo, w + padLeft - kx);
                            int shift = dst - padLeft + kx;
                            for (int ox = ox0; ox < ox1; ox++) {
                                dx[shift + ox] += dcol[src + ox];
                            }
                        } else {
                            for (int ox = 0; ox < wo; ox++) {
                                int ix = ox * stride - padLeft + kx;
                                if (ix >= 0 && ix < w) {
                                    dx[dst + ix] += dcol[src + ox];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** {@code Σ_{sample, position} dy[sample, ch, position]} per channel, in double, channels over the workers. */
    private float[] channelSums(float[] dy, int n, int channels, int plane) {
        float[] out = new float[channels];
        threads.forParts(channels, threads.count(), (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double acc = 0;
                for (int s = 0; s < n; s++) {
                    int base = (s * channels + ch) * plane;
                    for (int i = 0; i < plane; i++) {
                        acc += dy[base + i];
                    }
                }
                out[ch] = (float) acc;
            }
        });
        return out;
    }

    // ---------------------------------------------------------------- group norm, swish

    @Override
    public GroupNormGrads groupNormBackward(Tensor xt, int groups, Tensor gammaT, Tensor dyt, float eps) {
        CpuTensor x = t(xt); // [n, c, h, w]
        int n = x.shape[0];
        int c = x.shape[1];
        int hw = x.shape[2] * x.shape[3];
        float[] xs = x.heap();
        float[] gamma = t(gammaT).heap(); // [c]
        float[] dys = t(dyt).heap(); // [n, c, h, w]
        float[] dx = new float[xs.length];
        int perGroup = c / groups;
        int count = perGroup * hw;
        double[] dGammaParts = new double[n * c]; // per (sample, channel), summed over samples below
        double[] dBetaParts = new double[n * c];
        threads.forRange(0, n * groups, p -> {
            int from = p * count; // (sample, group): one contiguous run of channels
            int b = p / groups;
            int g = p % groups;
            double sum = 0;
            for (int i = 0; i < count; i++) {
                sum += xs[from + i];
            }
            double mean = sum / count;
            double sq = 0;
            for (int i = 0; i < count; i++) {
                double d = xs[from + i] - mean;
                sq += d * d;
            }
            double rstd = 1 / Math.sqrt(sq / count + eps);
            double sumG = 0;
            double sumGxhat = 0;
            for (int ci = 0; ci < perGroup; ci++) {
                int ch = g * perGroup + ci;
                int off = from + ci * hw;
                double sdy = 0;
                double sdyx = 0;
                for (int i = 0; i < hw; i++) {
                    double gy = dys[off + i];
                    sdy += gy;
                    sdyx += gy * (xs[off + i] - mean);
                }
                sdyx *= rstd;
                dBetaParts[b * c + ch] = sdy;
                dGammaParts[b * c + ch] = sdyx;
                sumG += sdy * gamma[ch];
                sumGxhat += sdyx * gamma[ch];
            }
            double meanG = sumG / count;
            double meanGxhat = sumGxhat / count;
            for (int ci = 0; ci < perGroup; ci++) {
                int off = from + ci * hw;
                // dx = rstd (dy gamma - meanG - xhat meanGxhat) = a dy + bx (x - mean) + cst, folded per channel;
                // x is centred first (x * bx + (cst - mean * bx) would cancel badly when |mean| >> std)
                float a = (float) (rstd * gamma[g * perGroup + ci]);
                float bx = (float) (-rstd * rstd * meanGxhat);
                float cst = (float) (-rstd * meanG);
                float m = (float) mean;
                for (int i = 0; i < hw; i++) {
                    dx[off + i] = a * dys[off + i] + bx * (xs[off + i] - m) + cst;
                }
            }
        });
        float[] dGamma = new float[c];
        float[] dBeta = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double sg = 0;
            double sb = 0;
            for (int b = 0; b < n; b++) {
                sg += dGammaParts[b * c + ch];
                sb += dBetaParts[b * c + ch];
            }
            dGamma[ch] = (float) sg;
            dBeta[ch] = (float) sb;
        }
        return new GroupNormGrads(new CpuTensor(x.shape.clone(), dx), new CpuTensor(new int[] {c}, dGamma),
                new CpuTensor(new int[] {c}, dBeta));
    }

    @Override
    public Tensor swishBackward(Tensor xt, Tensor dyt) {
        CpuTensor x = t(xt); // any shape, as dY
        float[] xs = x.heap();
        float[] dys = t(dyt).heap();
        float[] dx = new float[xs.length];
        threads.forParts(xs.length, Math.max(1, Math.min(threads.count() * 4, xs.length / 4096 + 1)), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float v = xs[i];
                float s = (float) (1.0 / (1.0 + Math.exp(-v)));
                dx[i] = dys[i] * (s + v * s * (1f - s));
            }
        });
        return new CpuTensor(x.shape.clone(), dx);
    }

    // ---------------------------------------------------------------- resampling

    @Override
    public Tensor upsampleNearest2xBackward(Tensor dyt) {
        CpuTensor dy = t(dyt);
        int[] s = dy.shape; // [n, c, 2h, 2w]
        int planes = s[0] * s[1];
        int h = s[2] / 2;
        int w = s[3] / 2;
        int w2 = 2 * w;
        float[] g = dy.heap();
        float[] dx = new float[planes * h * w];
        threads.forParts(planes, Math.min(planes, threads.count() * 4), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                for (int iy = 0; iy < h; iy++) {
                    int r0 = (p * 2 * h + 2 * iy) * w2;
                    int r1 = r0 + w2;
                    int dst = (p * h + iy) * w;
                    for (int ix = 0; ix < w; ix++) {
                        dx[dst + ix] = g[r0 + 2 * ix] + g[r0 + 2 * ix + 1] + g[r1 + 2 * ix] + g[r1 + 2 * ix + 1];
                    }
                }
            }
        });
        return new CpuTensor(new int[] {s[0], s[1], h, w}, dx);
    }

    @Override
    public Tensor avgPool2x2Backward(Tensor dyt, int height, int width) {
        CpuTensor dy = t(dyt);
        int[] s = dy.shape; // [n, c, height / 2, width / 2]
        int planes = s[0] * s[1];
        int ho = s[2];
        int wo = s[3];
        float[] g = dy.heap();
        float[] dx = new float[planes * height * width]; // a dropped odd row or column stays 0
        threads.forParts(planes, Math.min(planes, threads.count() * 4), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                for (int oy = 0; oy < ho; oy++) {
                    int r0 = (p * height + 2 * oy) * width;
                    int r1 = r0 + width;
                    int src = (p * ho + oy) * wo;
                    for (int ox = 0; ox < wo; ox++) {
                        float q = g[src + ox] * 0.25f;
                        dx[r0 + 2 * ox] = q;
                        dx[r0 + 2 * ox + 1] = q;
                        dx[r1 + 2 * ox] = q;
                        dx[r1 + 2 * ox + 1] = q;
                    }
                }
            }
        });
        return new CpuTensor(new int[] {s[0], s[1], height, width}, dx);
    }

    // ---------------------------------------------------------------- spatial attention

    @Override
    public SpatialAttentionGrads spatialAttentionBackward(Tensor qt, Tensor kt, Tensor vt, Tensor dOutT) {
        int[] shape = t(qt).shape; // [n, c, h, w] for q, k, v and dOut
        int n = shape[0];
        int c = shape[1];
        int p = shape[2] * shape[3];
        float scale = (float) (1 / Math.sqrt(c));
        float[] qs = t(qt).heap();
        float[] ks = t(kt).heap();
        float[] vs = t(vt).heap();
        float[] dos = t(dOutT).heap();
        float[] dq = new float[n * c * p];
        float[] dk = new float[n * c * p];
        float[] dv = new float[n * c * p];
        overSamples(n, (s0, s1) -> {
            float[] a = new float[p * p];
            float[] ds = new float[p * p];
            float[] res = new float[c * p];
            for (int s = s0; s < s1; s++) {
                int base = s * c * p;
                float[] q = Arrays.copyOfRange(qs, base, base + c * p); // [c, p]
                float[] k = Arrays.copyOfRange(ks, base, base + c * p);
                float[] v = Arrays.copyOfRange(vs, base, base + c * p);
                float[] dOut = Arrays.copyOfRange(dos, base, base + c * p);
                Blas.sgemm(true, false, p, p, c, scale, q, k, 0f, a); // [p (query), p (key)] = qᵀ k / sqrt(c)
                for (int i = 0; i < p; i++) {
                    int row = i * p;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < p; j++) {
                        max = Math.max(max, a[row + j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < p; j++) {
                        double e = Math.exp(a[row + j] - max);
                        a[row + j] = (float) e;
                        sum += e;
                    }
                    float inv = (float) (1 / sum);
                    for (int j = 0; j < p; j++) {
                        a[row + j] *= inv;
                    }
                }
                Blas.sgemm(false, false, c, p, p, 1f, dOut, a, 0f, res); // dV [c, p] = dOut · A
                System.arraycopy(res, 0, dv, base, c * p);
                Blas.sgemm(true, false, p, p, c, 1f, dOut, v, 0f, ds); // dA [p, p] = dOutᵀ · v
                for (int i = 0; i < p; i++) {
                    int row = i * p;
                    double dot = 0;
                    for (int j = 0; j < p; j++) {
                        dot += (double) a[row + j] * ds[row + j];
                    }
                    float d = (float) dot;
                    for (int j = 0; j < p; j++) {
                        ds[row + j] = a[row + j] * (ds[row + j] - d) * scale; // dS, the 1/sqrt(c) folded in
                    }
                }
                Blas.sgemm(false, true, c, p, p, 1f, k, ds, 0f, res); // dQ [c, p] = k · dSᵀ
                System.arraycopy(res, 0, dq, base, c * p);
                Blas.sgemm(false, false, c, p, p, 1f, q, ds, 0f, res); // dK [c, p] = q · dS
                System.arraycopy(res, 0, dk, base, c * p);
            }
        });
        return new SpatialAttentionGrads(new CpuTensor(shape.clone(), dq), new CpuTensor(shape.clone(), dk),
                new CpuTensor(shape.clone(), dv));
    }
}
