package io.cogvideo.training;

/**
 * Plain-Java kernels of the VQ-VAE training pack, in double precision on row-major NCHW {@code double[]} arrays: the
 * forward of every {@link io.cogvideo.spi.VqVaeOps} operation the encoder and decoder use, and its backward.
 * {@link HostVqVaeTrainingOps} runs the backwards for any backend; the finite-difference tests run forwards and
 * backwards directly, where double precision makes central differences exact to about 1e-9 and the checks tight.
 *
 * <p>Work is split over independent outputs (planes, weight rows, samples) so that every sum runs in a fixed order:
 * results do not depend on the thread count.
 */
public final class VqVaeTrainingKernels {
    private VqVaeTrainingKernels() {
    }

    /**
     * The geometry of a convolution: input [n, c, h, w], weight [o, c, kh, kw], one stride for both axes and zero
     * padding per side.
     */
    public record ConvShape(int n, int c, int h, int w, int o, int kh, int kw, int stride, int padTop, int padBottom,
            int padLeft, int padRight) {
        /** Output rows {@code (h + padTop + padBottom - kh) / stride + 1}. */
        public int ho() {
            return (h + padTop + padBottom - kh) / stride + 1;
        }

        /** Output columns {@code (w + padLeft + padRight - kw) / stride + 1}. */
        public int wo() {
            return (w + padLeft + padRight - kw) / stride + 1;
        }
    }

    // ---------------------------------------------------------------- convolution

    /** {@code y[n, o, ho, wo]}: the cross-correlation of {@code x} with {@code weight}, plus {@code bias} (or null). */
    public static double[] conv2d(double[] x, double[] weight, double[] bias, ConvShape s) {
        int ho = s.ho();
        int wo = s.wo();
        double[] y = new double[s.n() * s.o() * ho * wo];
        TrainingKernels.parallel(s.n() * s.o(), p -> {
            int b = p / s.o();
            int oc = p % s.o();
            for (int oy = 0; oy < ho; oy++) {
                for (int ox = 0; ox < wo; ox++) {
                    double acc = bias == null ? 0 : bias[oc];
                    for (int ic = 0; ic < s.c(); ic++) {
                        for (int ky = 0; ky < s.kh(); ky++) {
                            int iy = oy * s.stride() + ky - s.padTop();
                            if (iy < 0 || iy >= s.h()) {
                                continue; // zero padding
                            }
                            for (int kx = 0; kx < s.kw(); kx++) {
                                int ix = ox * s.stride() + kx - s.padLeft();
                                if (ix >= 0 && ix < s.w()) {
                                    acc += x[((b * s.c() + ic) * s.h() + iy) * s.w() + ix]
                                            * weight[((oc * s.c() + ic) * s.kh() + ky) * s.kw() + kx];
                                }
                            }
                        }
                    }
                    y[(p * ho + oy) * wo + ox] = acc;
                }
            }
        });
        return y;
    }

    /**
     * {@code dX[n, c, h, w]}: the transposed convolution of {@code dY} [n, o, ho, wo] with {@code weight}; positions
     * that no output window reaches (a trailing row the stride skips) receive 0.
     */
    public static double[] conv2dBackwardX(double[] dy, double[] weight, ConvShape s) {
        int ho = s.ho();
        int wo = s.wo();
        double[] dx = new double[s.n() * s.c() * s.h() * s.w()];
        TrainingKernels.parallel(s.n() * s.c(), p -> { // one input plane each: its writes are its own
            int b = p / s.c();
            int ic = p % s.c();
            int plane = p * s.h() * s.w();
            for (int oc = 0; oc < s.o(); oc++) {
                int dyPlane = (b * s.o() + oc) * ho * wo;
                for (int ky = 0; ky < s.kh(); ky++) {
                    for (int kx = 0; kx < s.kw(); kx++) {
                        double wv = weight[((oc * s.c() + ic) * s.kh() + ky) * s.kw() + kx];
                        for (int oy = 0; oy < ho; oy++) {
                            int iy = oy * s.stride() + ky - s.padTop();
                            if (iy < 0 || iy >= s.h()) {
                                continue;
                            }
                            for (int ox = 0; ox < wo; ox++) {
                                int ix = ox * s.stride() + kx - s.padLeft();
                                if (ix >= 0 && ix < s.w()) {
                                    dx[plane + iy * s.w() + ix] += wv * dy[dyPlane + oy * wo + ox];
                                }
                            }
                        }
                    }
                }
            }
        });
        return dx;
    }

    /** {@code dW[o, c, kh, kw]}: the correlation of the input {@code x} with {@code dY}, summed over the batch. */
    public static double[] conv2dBackwardW(double[] x, double[] dy, ConvShape s) {
        int ho = s.ho();
        int wo = s.wo();
        int taps = s.kh() * s.kw();
        double[] dw = new double[s.o() * s.c() * taps];
        TrainingKernels.parallel(s.o() * s.c(), p -> { // one (out, in) channel pair each
            int oc = p / s.c();
            int ic = p % s.c();
            for (int ky = 0; ky < s.kh(); ky++) {
                for (int kx = 0; kx < s.kw(); kx++) {
                    double acc = 0;
                    for (int b = 0; b < s.n(); b++) {
                        int plane = (b * s.c() + ic) * s.h() * s.w();
                        int dyPlane = (b * s.o() + oc) * ho * wo;
                        for (int oy = 0; oy < ho; oy++) {
                            int iy = oy * s.stride() + ky - s.padTop();
                            if (iy < 0 || iy >= s.h()) {
                                continue;
                            }
                            for (int ox = 0; ox < wo; ox++) {
                                int ix = ox * s.stride() + kx - s.padLeft();
                                if (ix >= 0 && ix < s.w()) {
                                    acc += x[plane + iy * s.w() + ix] * dy[dyPlane + oy * wo + ox];
                                }
                            }
                        }
                    }
                    dw[p * taps + ky * s.kw() + kx] = acc;
                }
            }
        });
        return dw;
    }

    /** {@code dBias[channels]}: {@code dY} [n, channels, plane] summed over the batch and the positions. */
    public static double[] channelSums(double[] dy, int n, int channels, int plane) {
        double[] db = new double[channels];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < channels; ch++) {
                int o = (b * channels + ch) * plane;
                double acc = 0;
                for (int i = 0; i < plane; i++) {
                    acc += dy[o + i];
                }
                db[ch] += acc;
            }
        }
        return db;
    }

    // ---------------------------------------------------------------- group norm, swish

    /**
     * Group normalisation of {@code x} [n, c, hw] with {@code groups} groups of consecutive channels (biased
     * variance), scaled by {@code gamma} and shifted by {@code beta} [c].
     */
    public static double[] groupNorm(double[] x, int n, int c, int hw, int groups, double[] gamma, double[] beta,
            double eps) {
        double[] y = new double[x.length];
        int perGroup = c / groups;
        int count = perGroup * hw;
        TrainingKernels.parallel(n * groups, p -> {
            int from = p * count; // groups are consecutive channels: (b, g) is one contiguous run
            double[] st = stats(x, from, count, eps);
            int g = p % groups;
            for (int i = 0; i < count; i++) {
                int ch = g * perGroup + i / hw;
                y[from + i] = (x[from + i] - st[0]) * st[1] * gamma[ch] + beta[ch];
            }
        });
        return y;
    }

    /** {mean, 1 / sqrt(var + eps)} of {@code x[from, from + count)} (biased variance, two passes). */
    private static double[] stats(double[] x, int from, int count, double eps) {
        double mean = 0;
        for (int i = 0; i < count; i++) {
            mean += x[from + i];
        }
        mean /= count;
        double var = 0;
        for (int i = 0; i < count; i++) {
            double d = x[from + i] - mean;
            var += d * d;
        }
        return new double[] {mean, 1 / Math.sqrt(var / count + eps)};
    }

    /**
     * Backward of {@link #groupNorm} (statistics recomputed from {@code x}): with {@code x̂} the normalised input and
     * {@code g = dY · gamma}, per (sample, group) of {@code M} values
     * {@code dX = rstd (g - mean(g) - x̂ mean(g x̂))}; {@code dGamma = Σ dY x̂} and {@code dBeta = Σ dY} per channel.
     *
     * @return {dX [n, c, hw], dGamma [c], dBeta [c]}
     */
    public static double[][] groupNormBackward(double[] x, int n, int c, int hw, int groups, double[] gamma,
            double eps, double[] dy) {
        double[] dx = new double[x.length];
        int perGroup = c / groups;
        int count = perGroup * hw;
        double[] dGammaParts = new double[n * c];
        double[] dBetaParts = new double[n * c];
        TrainingKernels.parallel(n * groups, p -> {
            int from = p * count;
            int b = p / groups;
            int g = p % groups;
            double[] st = stats(x, from, count, eps);
            double mean = st[0];
            double rstd = st[1];
            double sumG = 0;
            double sumGxhat = 0;
            for (int ci = 0; ci < perGroup; ci++) {
                int ch = g * perGroup + ci;
                double sdy = 0;
                double sdyx = 0;
                for (int i = 0; i < hw; i++) {
                    int at = from + ci * hw + i;
                    double xhat = (x[at] - mean) * rstd;
                    sdy += dy[at];
                    sdyx += dy[at] * xhat;
                }
                dBetaParts[b * c + ch] = sdy;
                dGammaParts[b * c + ch] = sdyx;
                sumG += sdy * gamma[ch];
                sumGxhat += sdyx * gamma[ch];
            }
            double meanG = sumG / count;
            double meanGxhat = sumGxhat / count;
            for (int ci = 0; ci < perGroup; ci++) {
                double gm = gamma[g * perGroup + ci];
                for (int i = 0; i < hw; i++) {
                    int at = from + ci * hw + i;
                    double xhat = (x[at] - mean) * rstd;
                    dx[at] = rstd * (dy[at] * gm - meanG - xhat * meanGxhat);
                }
            }
        });
        double[] dGamma = new double[c];
        double[] dBeta = new double[c];
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                dGamma[ch] += dGammaParts[b * c + ch];
                dBeta[ch] += dBetaParts[b * c + ch];
            }
        }
        return new double[][] {dx, dGamma, dBeta};
    }

    /** Swish, element-wise {@code x * sigmoid(x)}. */
    public static double[] swish(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / (1 + Math.exp(-x[i]));
        }
        return y;
    }

    /** Backward of {@link #swish}: {@code dY * (s + x * s * (1 - s))} with {@code s = sigmoid(x)}. */
    public static double[] swishBackward(double[] x, double[] dy) {
        double[] dx = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double s = 1 / (1 + Math.exp(-x[i]));
            dx[i] = dy[i] * (s + x[i] * s * (1 - s));
        }
        return dx;
    }

    // ---------------------------------------------------------------- resampling

    /** Nearest up-sampling by 2 of {@code planes} planes of h x w: [planes, 2h, 2w]. */
    public static double[] upsampleNearest2x(double[] x, int planes, int h, int w) {
        double[] y = new double[planes * 4 * h * w];
        for (int p = 0; p < planes; p++) {
            for (int yy = 0; yy < 2 * h; yy++) {
                for (int xx = 0; xx < 2 * w; xx++) {
                    y[(p * 2 * h + yy) * 2 * w + xx] = x[(p * h + yy / 2) * w + xx / 2];
                }
            }
        }
        return y;
    }

    /** Backward of {@link #upsampleNearest2x}: {@code dY} [planes, 2h, 2w] summed over each 2x2 block, [planes, h, w]. */
    public static double[] upsampleNearest2xBackward(double[] dy, int planes, int h, int w) {
        double[] dx = new double[planes * h * w];
        int w2 = 2 * w;
        for (int p = 0; p < planes; p++) {
            for (int iy = 0; iy < h; iy++) {
                int r0 = (p * 2 * h + 2 * iy) * w2;
                int r1 = r0 + w2;
                for (int ix = 0; ix < w; ix++) {
                    dx[(p * h + iy) * w + ix] = dy[r0 + 2 * ix] + dy[r0 + 2 * ix + 1] + dy[r1 + 2 * ix]
                            + dy[r1 + 2 * ix + 1];
                }
            }
        }
        return dx;
    }

    /** 2x2 average pooling with stride 2 of {@code planes} planes of h x w (odd trailing row/column dropped). */
    public static double[] avgPool2x2(double[] x, int planes, int h, int w) {
        int ho = h / 2;
        int wo = w / 2;
        double[] y = new double[planes * ho * wo];
        for (int p = 0; p < planes; p++) {
            for (int oy = 0; oy < ho; oy++) {
                int r0 = (p * h + 2 * oy) * w;
                int r1 = r0 + w;
                for (int ox = 0; ox < wo; ox++) {
                    y[(p * ho + oy) * wo + ox] = (x[r0 + 2 * ox] + x[r0 + 2 * ox + 1] + x[r1 + 2 * ox]
                            + x[r1 + 2 * ox + 1]) / 4;
                }
            }
        }
        return y;
    }

    /**
     * Backward of {@link #avgPool2x2}: each input of a pooled block receives a quarter of its gradient, a trailing odd
     * row or column 0.
     *
     * @param dy [planes, h / 2, w / 2]
     * @return [planes, h, w]
     */
    public static double[] avgPool2x2Backward(double[] dy, int planes, int h, int w) {
        int ho = h / 2;
        int wo = w / 2;
        double[] dx = new double[planes * h * w];
        for (int p = 0; p < planes; p++) {
            for (int oy = 0; oy < ho; oy++) {
                int r0 = (p * h + 2 * oy) * w;
                int r1 = r0 + w;
                for (int ox = 0; ox < wo; ox++) {
                    double g = dy[(p * ho + oy) * wo + ox] / 4;
                    dx[r0 + 2 * ox] = g;
                    dx[r0 + 2 * ox + 1] = g;
                    dx[r1 + 2 * ox] = g;
                    dx[r1 + 2 * ox + 1] = g;
                }
            }
        }
        return dx;
    }

    // ---------------------------------------------------------------- spatial attention

    /**
     * The softmax probabilities {@code a[i, j] = softmax_j(Σ_c q[c, i] k[c, j] / sqrt(c))} of sample {@code b}:
     * [positions (query), positions (key)].
     */
    private static double[] probabilities(double[] q, double[] k, int b, int c, int positions) {
        int base = b * c * positions;
        double scale = 1 / Math.sqrt(c);
        double[] a = new double[positions * positions];
        for (int i = 0; i < positions; i++) {
            double max = Double.NEGATIVE_INFINITY;
            int row = i * positions;
            for (int j = 0; j < positions; j++) {
                double s = 0;
                for (int ch = 0; ch < c; ch++) {
                    s += q[base + ch * positions + i] * k[base + ch * positions + j];
                }
                a[row + j] = s * scale;
                max = Math.max(max, a[row + j]);
            }
            double sum = 0;
            for (int j = 0; j < positions; j++) {
                a[row + j] = Math.exp(a[row + j] - max);
                sum += a[row + j];
            }
            for (int j = 0; j < positions; j++) {
                a[row + j] /= sum;
            }
        }
        return a;
    }

    /**
     * Spatial self-attention of {@code q, k, v} [n, c, positions]: {@code out[c, i] = Σ_j v[c, j] a[i, j]} with
     * {@code a} the softmax over key positions of {@code qᵀ k / sqrt(c)}.
     */
    public static double[] spatialAttention(double[] q, double[] k, double[] v, int n, int c, int positions) {
        double[] out = new double[q.length];
        TrainingKernels.parallel(n, b -> {
            double[] a = probabilities(q, k, b, c, positions);
            int base = b * c * positions;
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < positions; i++) {
                    double acc = 0;
                    for (int j = 0; j < positions; j++) {
                        acc += a[i * positions + j] * v[base + ch * positions + j];
                    }
                    out[base + ch * positions + i] = acc;
                }
            }
        });
        return out;
    }

    /**
     * Backward of {@link #spatialAttention}, probabilities recomputed: {@code dV = dOut · a},
     * {@code dA = dOutᵀ v}, {@code dS = a ⊙ (dA - rowsum(a ⊙ dA))}, {@code dQ = k · dSᵀ / sqrt(c)},
     * {@code dK = q · dS / sqrt(c)}.
     *
     * @return {dQ, dK, dV}, each [n, c, positions]
     */
    public static double[][] spatialAttentionBackward(double[] q, double[] k, double[] v, double[] dOut, int n, int c,
            int positions) {
        double[] dq = new double[q.length];
        double[] dk = new double[k.length];
        double[] dv = new double[v.length];
        double scale = 1 / Math.sqrt(c);
        TrainingKernels.parallel(n, b -> {
            int base = b * c * positions;
            double[] a = probabilities(q, k, b, c, positions);
            // dV[c, j] = Σ_i dOut[c, i] a[i, j]
            for (int ch = 0; ch < c; ch++) {
                int row = base + ch * positions;
                for (int i = 0; i < positions; i++) {
                    double g = dOut[row + i];
                    for (int j = 0; j < positions; j++) {
                        dv[row + j] += g * a[i * positions + j];
                    }
                }
            }
            // dS[i, j] = a[i, j] (dA[i, j] - Σ_j' a[i, j'] dA[i, j']), dA[i, j] = Σ_c dOut[c, i] v[c, j]
            double[] ds = new double[positions * positions];
            for (int i = 0; i < positions; i++) {
                int row = i * positions;
                double dot = 0;
                for (int j = 0; j < positions; j++) {
                    double da = 0;
                    for (int ch = 0; ch < c; ch++) {
                        da += dOut[base + ch * positions + i] * v[base + ch * positions + j];
                    }
                    ds[row + j] = da;
                    dot += a[row + j] * da;
                }
                for (int j = 0; j < positions; j++) {
                    ds[row + j] = a[row + j] * (ds[row + j] - dot) * scale;
                }
            }
            // dQ[c, i] = Σ_j dS[i, j] k[c, j]; dK[c, j] = Σ_i dS[i, j] q[c, i]
            for (int ch = 0; ch < c; ch++) {
                int row = base + ch * positions;
                for (int i = 0; i < positions; i++) {
                    double accQ = 0;
                    double qi = q[row + i];
                    for (int j = 0; j < positions; j++) {
                        double s = ds[i * positions + j];
                        accQ += s * k[row + j];
                        dk[row + j] += s * qi;
                    }
                    dq[row + i] = accQ;
                }
            }
        });
        return new double[][] {dq, dk, dv};
    }
}
