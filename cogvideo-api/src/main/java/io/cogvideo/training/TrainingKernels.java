package io.cogvideo.training;

import io.cogvideo.spi.AttentionMask;
import java.util.stream.IntStream;

/**
 * Plain-Java kernels of the training pack, in double precision on row-major {@code double[]} arrays: the forward of
 * every operation the CogVideo transformer uses and its backward. {@link HostTrainingOps} runs them for any backend;
 * the finite-difference tests run them directly, where double precision makes central differences exact to about
 * 1e-9 and the checks tight.
 *
 * <p>Shapes are given by explicit sizes; {@code rows} is {@code B * n} for activations. Work is split over
 * independent outputs (rows, heads, weight rows) so that every sum runs in a fixed order: results do not depend on
 * the thread count.
 */
public final class TrainingKernels {
    /** sqrt(2 / pi), the GELU tanh-form constant. */
    private static final double GELU_C = 0.7978845608028654;
    private static final double GELU_A = 0.044715;

    private TrainingKernels() {
    }

    // ---------------------------------------------------------------- dense

    /** {@code y[rows, out] = x[rows, in] · wᵀ + b} ({@code b} may be null). */
    public static double[] linear(double[] x, int rows, int in, double[] w, int out, double[] b) {
        double[] y = new double[rows * out];
        parallel(rows, i -> {
            int xo = i * in;
            for (int o = 0; o < out; o++) {
                int wo = o * in;
                y[i * out + o] = (b == null ? 0 : b[o]) + dot(x, xo, w, wo, in);
            }
        });
        return y;
    }

    /** {@code dX[rows, in] = dY · w}. */
    public static double[] linearBackwardX(double[] dy, int rows, int in, double[] w, int out) {
        double[] dx = new double[rows * in];
        parallel(rows, i -> {
            int xo = i * in;
            for (int o = 0; o < out; o++) {
                double g = dy[i * out + o];
                if (g != 0) {
                    int wo = o * in;
                    for (int t = 0; t < in; t++) {
                        dx[xo + t] += g * w[wo + t];
                    }
                }
            }
        });
        return dx;
    }

    /** {@code dW[out, in] = Σ_rows dYᵀ x}. */
    public static double[] linearBackwardW(double[] x, double[] dy, int rows, int in, int out) {
        double[] dw = new double[out * in];
        parallel(out, o -> {
            int wo = o * in;
            for (int i = 0; i < rows; i++) {
                double g = dy[i * out + o];
                if (g != 0) {
                    int xo = i * in;
                    for (int t = 0; t < in; t++) {
                        dw[wo + t] += g * x[xo + t];
                    }
                }
            }
        });
        return dw;
    }

    /** {@code db[out] = Σ_rows dY}. */
    public static double[] columnSums(double[] dy, int rows, int out) {
        double[] db = new double[out];
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < out; o++) {
                db[o] += dy[i * out + o];
            }
        }
        return db;
    }

    // ---------------------------------------------------------------- layer norm, gelu, mix

    /** {mean, 1 / sqrt(biased variance + eps)} of {@code x[o, o + h)}. */
    private static double[] rowStats(double[] x, int o, int h, double eps) {
        double mean = 0;
        for (int t = 0; t < h; t++) {
            mean += x[o + t];
        }
        mean /= h;
        double var = 0;
        for (int t = 0; t < h; t++) {
            double d = x[o + t] - mean;
            var += d * d;
        }
        var /= h;
        return new double[] {mean, 1 / Math.sqrt(var + eps)};
    }

    /** LayerNorm over the last dimension {@code h} (biased variance, as PyTorch). */
    public static double[] layerNorm(double[] x, int rows, int h, double[] gamma, double[] beta, double eps) {
        double[] y = new double[rows * h];
        parallel(rows, i -> {
            int o = i * h;
            double[] st = rowStats(x, o, h, eps);
            double mean = st[0];
            double rstd = st[1];
            for (int t = 0; t < h; t++) {
                y[o + t] = (x[o + t] - mean) * rstd * gamma[t] + beta[t];
            }
        });
        return y;
    }

    /**
     * Backward of {@link #layerNorm}: {@code dx = rstd (g - mean(g) - x̂ mean(g x̂))} with {@code g = dy γ};
     * {@code dGamma = Σ dy x̂}, {@code dBeta = Σ dy}.
     *
     * @return {dX [rows, h], dGamma [h], dBeta [h]}
     */
    public static double[][] layerNormBackward(double[] x, int rows, int h, double[] gamma, double eps, double[] dy) {
        double[] dx = new double[rows * h];
        double[] xhat = new double[rows * h];
        parallel(rows, i -> {
            int o = i * h;
            double[] st = rowStats(x, o, h, eps);
            double mean = st[0];
            double rstd = st[1];
            double mg = 0;
            double mgx = 0;
            for (int t = 0; t < h; t++) {
                double xh = (x[o + t] - mean) * rstd;
                xhat[o + t] = xh;
                double g = dy[o + t] * gamma[t];
                mg += g;
                mgx += g * xh;
            }
            mg /= h;
            mgx /= h;
            for (int t = 0; t < h; t++) {
                dx[o + t] = rstd * (dy[o + t] * gamma[t] - mg - xhat[o + t] * mgx);
            }
        });
        double[] dg = new double[h];
        double[] db = new double[h];
        for (int i = 0; i < rows; i++) {
            int o = i * h;
            for (int t = 0; t < h; t++) {
                dg[t] += dy[o + t] * xhat[o + t];
                db[t] += dy[o + t];
            }
        }
        return new double[][] {dx, dg, db};
    }

    /** GELU, tanh form: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    public static double[] gelu(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_A * v * v * v)));
        }
        return y;
    }

    /** {@code dY * gelu'(x)}. */
    public static double[] geluBackward(double[] x, double[] dy) {
        double[] dx = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            double t = Math.tanh(GELU_C * (v + GELU_A * v * v * v));
            double d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v);
            dx[i] = dy[i] * d;
        }
        return dx;
    }

    /** Logistic function. */
    public static double sigmoid(double a) {
        return 1 / (1 + Math.exp(-a));
    }

    /** {@code σ(a) base + (1 - σ(a)) plus}, {@code a} [h] broadcast over the rows. */
    public static double[] channelMix(double[] base, double[] plus, double[] a, int h) {
        double[] y = new double[base.length];
        for (int i = 0; i < base.length; i++) {
            double s = sigmoid(a[i % h]);
            y[i] = s * base[i] + (1 - s) * plus[i];
        }
        return y;
    }

    /**
     * Backward of {@link #channelMix}: {@code dBase = σ dOut}, {@code dPlus = (1-σ) dOut},
     * {@code dA = Σ_rows dOut (base - plus) σ (1 - σ)}.
     *
     * @return {dBase, dPlus, dA [h]}
     */
    public static double[][] channelMixBackward(double[] base, double[] plus, double[] a, int h, double[] dOut) {
        double[] dBase = new double[base.length];
        double[] dPlus = new double[base.length];
        double[] dA = new double[h];
        for (int i = 0; i < base.length; i++) {
            int c = i % h;
            double s = sigmoid(a[c]);
            dBase[i] = s * dOut[i];
            dPlus[i] = (1 - s) * dOut[i];
            dA[c] += dOut[i] * (base[i] - plus[i]) * s * (1 - s);
        }
        return new double[][] {dBase, dPlus, dA};
    }

    // ---------------------------------------------------------------- embedding, dropout

    /** {@code out[i, :] = table[rows[i], :]}. */
    public static double[] gatherRows(double[] table, int h, int[] rows) {
        double[] out = new double[rows.length * h];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(table, rows[i] * h, out, i * h, h);
        }
        return out;
    }

    /** Scatter-add: {@code dTable[rows[i], :] += dOut[i, :]}, a dense [tableRows, h] gradient. */
    public static double[] gatherRowsBackward(double[] dOut, int h, int[] rows, int tableRows) {
        double[] dt = new double[tableRows * h];
        for (int i = 0; i < rows.length; i++) {
            int src = i * h;
            int dst = rows[i] * h;
            for (int t = 0; t < h; t++) {
                dt[dst + t] += dOut[src + t];
            }
        }
        return dt;
    }

    /** A uniform double in [0, 1) from {@code (seed, index)} (SplitMix64 finaliser over a Weyl step). */
    public static double uniform(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }

    /** The factor dropout applies to element {@code index}: 0 if dropped, {@code 1 / (1 - rate)} if kept. */
    public static double dropoutScale(double rate, long seed, long index) {
        if (rate <= 0) {
            return 1;
        }
        return uniform(seed, index) < rate ? 0 : 1 / (1 - rate);
    }

    /** Element-wise dropout ({@link #dropoutScale} of the element index). Its own backward. */
    public static double[] dropout(double[] x, double rate, long seed) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * dropoutScale(rate, seed, i);
        }
        return y;
    }

    // ---------------------------------------------------------------- attention

    /**
     * For each query row the key rows it sees under {@code mask} (ascending), over {@code nk} keys. Shared by every
     * batch row and head.
     */
    public static int[][] visibleKeys(AttentionMask mask, int nq, int nk) {
        int[][] out = new int[nq][];
        parallel(nq, qi -> {
            int[] buf = new int[nk];
            int c = 0;
            for (int kj = 0; kj < nk; kj++) {
                if (mask.visible(qi, kj)) {
                    buf[c++] = kj;
                }
            }
            out[qi] = java.util.Arrays.copyOf(buf, c);
        });
        return out;
    }

    /** Geometry of an attention call. */
    public record AttentionShape(int batch, int nq, int nk, int heads, int headDim) {
        int width() {
            return heads * headDim;
        }
    }

    /**
     * Attention forward: per batch row and head, {@code softmax(q kᵀ / sqrt(d) + boost on text keys)} over the
     * visible keys, probabilities times the dropout factor of {@code ((b * heads + h) * nq + i) * nk + j}, times v.
     *
     * @param out [B, nq, width] written
     * @param lse [B, heads, nq] written: log-sum-exp of each row's scaled scores, {@code -Infinity} if it sees no key
     */
    public static void attentionForward(double[] q, double[] k, double[] v, AttentionShape s, AttentionMask mask,
            int[][] keys, double dropRate, long seed, double[] out, double[] lse) {
        final int width = s.width();
        final int d = s.headDim();
        final double scale = 1 / Math.sqrt(d);
        // Key-blocked with an online softmax: for each block of 64 keys every query folds its visible keys of the
        // block into a running maximum, sum and (unnormalised) output, so the block's k and v stay in cache.
        final int keyBlock = 64;
        parallel(s.batch() * s.heads(), bh -> {
            int b = bh / s.heads();
            int hd = bh % s.heads();
            double[] max = new double[s.nq()];
            double[] sum = new double[s.nq()];
            java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
            for (int qi = 0; qi < s.nq(); qi++) {
                int qo = (b * s.nq() + qi) * width + hd * d;
                java.util.Arrays.fill(out, qo, qo + d, 0);
            }
            int[] cursor = new int[s.nq()];
            double[] sc = new double[keyBlock];
            for (int k0 = 0; k0 < s.nk(); k0 += keyBlock) {
                int k1 = Math.min(s.nk(), k0 + keyBlock);
                for (int qi = 0; qi < s.nq(); qi++) {
                    int[] ks = keys[qi];
                    int c0 = cursor[qi];
                    int c1 = c0;
                    while (c1 < ks.length && ks[c1] < k1) {
                        c1++;
                    }
                    if (c1 == c0) {
                        continue;
                    }
                    cursor[qi] = c1;
                    int qo = (b * s.nq() + qi) * width + hd * d;
                    double blockMax = Double.NEGATIVE_INFINITY;
                    for (int c = c0; c < c1; c++) {
                        int ko = (b * s.nk() + ks[c]) * width + hd * d;
                        double boost = ks[c] < mask.textLength() ? mask.textBoost() : 0;
                        double score = dot(q, qo, k, ko, d) * scale + boost;
                        sc[c - c0] = score;
                        blockMax = Math.max(blockMax, score);
                    }
                    double m = Math.max(max[qi], blockMax);
                    if (max[qi] != Double.NEGATIVE_INFINITY && m > max[qi]) {
                        double f = Math.exp(max[qi] - m);
                        sum[qi] *= f;
                        for (int t = 0; t < d; t++) {
                            out[qo + t] *= f;
                        }
                    }
                    max[qi] = m;
                    long dropBase = ((long) bh * s.nq() + qi) * s.nk();
                    for (int c = c0; c < c1; c++) {
                        double e = Math.exp(sc[c - c0] - m);
                        sum[qi] += e;
                        double pd = e * dropoutScale(dropRate, seed, dropBase + ks[c]);
                        if (pd != 0) {
                            int vo = (b * s.nk() + ks[c]) * width + hd * d;
                            for (int t = 0; t < d; t++) {
                                out[qo + t] += pd * v[vo + t];
                            }
                        }
                    }
                }
            }
            for (int qi = 0; qi < s.nq(); qi++) {
                int lseAt = bh * s.nq() + qi;
                if (sum[qi] == 0) {
                    lse[lseAt] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                lse[lseAt] = max[qi] + Math.log(sum[qi]);
                int qo = (b * s.nq() + qi) * width + hd * d;
                double inv = 1 / sum[qi];
                for (int t = 0; t < d; t++) {
                    out[qo + t] *= inv;
                }
            }
        });
    }

    /**
     * Attention backward with recomputed probabilities {@code p = exp(s - lse)}: with {@code D_i = dO_i · O_i},
     * {@code dV_j += p̃_ij dO_i}, {@code dS_ij = p_ij (m_ij dO_i · v_j - D_i)} ({@code p̃ = p m}, {@code m} the
     * dropout factor), {@code dQ_i += dS_ij k_j / sqrt(d)}, {@code dK_j += dS_ij q_i / sqrt(d)}.
     *
     * @param dq [B, nq, width] accumulated into
     * @param dk [B, nk, width] accumulated into
     * @param dv [B, nk, width] accumulated into
     */
    public static void attentionBackward(double[] q, double[] k, double[] v, AttentionShape s, AttentionMask mask,
            int[][] keys, double dropRate, long seed, double[] out, double[] lse, double[] dOut, double[] dq,
            double[] dk, double[] dv) {
        final int width = s.width();
        final int d = s.headDim();
        final double scale = 1 / Math.sqrt(d);
        // Key-blocked: for each block of KEY_BLOCK keys, every query visits its visible keys in the block (a cursor
        // per query walks its ascending key list), so the block's k, v, dK, dV stay in cache while the queries stream
        // by. Each dQ, dK, dV element still sums its terms in ascending order of the other index.
        final int keyBlock = 64;
        parallel(s.batch() * s.heads(), bh -> {
            int b = bh / s.heads();
            int hd = bh % s.heads();
            double[] di = new double[s.nq()];
            for (int qi = 0; qi < s.nq(); qi++) {
                int qo = (b * s.nq() + qi) * width + hd * d;
                di[qi] = dot(dOut, qo, out, qo, d);
            }
            int[] cursor = new int[s.nq()];
            for (int k0 = 0; k0 < s.nk(); k0 += keyBlock) {
                int k1 = Math.min(s.nk(), k0 + keyBlock);
                for (int qi = 0; qi < s.nq(); qi++) {
                    int[] ks = keys[qi];
                    int c = cursor[qi];
                    if (c >= ks.length || ks[c] >= k1) {
                        continue;
                    }
                    int qo = (b * s.nq() + qi) * width + hd * d;
                    double rowLse = lse[bh * s.nq() + qi];
                    long dropBase = ((long) bh * s.nq() + qi) * s.nk();
                    for (; c < ks.length && ks[c] < k1; c++) {
                        int kj = ks[c];
                        int ko = (b * s.nk() + kj) * width + hd * d;
                        double dpv = dot(dOut, qo, v, ko, d);
                        double score = dot(q, qo, k, ko, d) * scale + (kj < mask.textLength() ? mask.textBoost() : 0);
                        double p = Math.exp(score - rowLse);
                        double m = dropoutScale(dropRate, seed, dropBase + kj);
                        double pm = p * m;
                        double ds = p * (m * dpv - di[qi]) * scale;
                        for (int t = 0; t < d; t++) {
                            dv[ko + t] += pm * dOut[qo + t];
                            dq[qo + t] += ds * k[ko + t];
                            dk[ko + t] += ds * q[qo + t];
                        }
                    }
                    cursor[qi] = c;
                }
            }
        });
    }

    // ---------------------------------------------------------------- tied head

    /**
     * Cross-entropy of {@code logits = x · headᵀ} per row against {@code labels}, and the gradients of
     * {@code Σ w_i loss_i}: {@code dlogits_i = w_i (softmax_i - onehot(label_i))}, {@code dX = dlogits · head},
     * {@code dHead = dlogitsᵀ · x}. Rows of weight 0 skip the backward.
     *
     * @param losses [rows] written
     * @param dx     [rows, h] written
     * @param dHead  [V, h] accumulated into
     */
    public static void crossEntropy(double[] x, int rows, int h, double[] head, int vocab, int[] labels,
            double[] weights, double[] losses, double[] dx, double[] dHead) {
        // Tiled over a block of rows and chunks of the vocabulary, so that the head (V x h, megabytes) streams
        // through the cache once per row block and not once per row:
        //   A  logits[block][V] = x_block · headᵀ, per vocabulary chunk (the chunk of headᵀ stays in cache)
        //   B  per row: log-sum-exp, loss, and dlogits = w (softmax - onehot) in place
        //   C  dHead[chunk] += dlogitsᵀ · x_block, per vocabulary chunk
        //   D  dX_block = dlogits · head, one pass over the head for the whole block
        double[] headT = new double[h * vocab]; // [h, V]
        for (int r = 0; r < vocab; r++) {
            for (int t = 0; t < h; t++) {
                headT[t * vocab + r] = head[r * h + t];
            }
        }
        final int block = 32;
        final int chunk = 512;
        double[][] logits = new double[block][vocab];
        boolean[] active = new boolean[block];
        for (int start = 0; start < rows; start += block) {
            final int s0 = start;
            final int nb = Math.min(block, rows - start);
            parallelRanges(vocab, chunk, (v0, v1) -> {
                for (int bi = 0; bi < nb; bi++) {
                    double[] l = logits[bi];
                    java.util.Arrays.fill(l, v0, v1, 0);
                    int xo = (s0 + bi) * h;
                    for (int t = 0; t < h; t++) {
                        double a = x[xo + t];
                        int ho = t * vocab;
                        for (int r = v0; r < v1; r++) {
                            l[r] += a * headT[ho + r];
                        }
                    }
                }
            });
            parallel(nb, bi -> {
                int i = s0 + bi;
                double[] l = logits[bi];
                double max = Double.NEGATIVE_INFINITY;
                for (int r = 0; r < vocab; r++) {
                    max = Math.max(max, l[r]);
                }
                double labelLogit = l[labels[i]];
                double sum = 0;
                for (int r = 0; r < vocab; r++) {
                    double e = Math.exp(l[r] - max);
                    l[r] = e;
                    sum += e;
                }
                losses[i] = max + Math.log(sum) - labelLogit;
                double w = weights[i];
                active[bi] = w != 0;
                if (w != 0) {
                    double f = w / sum;
                    for (int r = 0; r < vocab; r++) {
                        l[r] *= f;
                    }
                    l[labels[i]] -= w;
                }
            });
            parallelRanges(vocab, chunk, (v0, v1) -> {
                for (int bi = 0; bi < nb; bi++) {
                    if (!active[bi]) {
                        continue;
                    }
                    double[] g = logits[bi];
                    int xo = (s0 + bi) * h;
                    for (int r = v0; r < v1; r++) {
                        double gr = g[r];
                        int ho = r * h;
                        for (int t = 0; t < h; t++) {
                            dHead[ho + t] += gr * x[xo + t];
                        }
                    }
                }
            });
            // rows split in two halves when possible: each half streams the head once
            int halves = nb >= 16 ? 2 : 1;
            parallel(halves, part -> {
                int b0 = part * nb / halves;
                int b1 = (part + 1) * nb / halves;
                for (int r = 0; r < vocab; r++) {
                    int ho = r * h;
                    for (int bi = b0; bi < b1; bi++) {
                        if (!active[bi]) {
                            continue;
                        }
                        double g = logits[bi][r];
                        int xo = (s0 + bi) * h;
                        for (int t = 0; t < h; t++) {
                            dx[xo + t] += g * head[ho + t];
                        }
                    }
                }
            });
        }
    }

    // ---------------------------------------------------------------- helpers

    /** {@code Σ a[ao + t] b[bo + t]} for t in [0, n), with four independent partial sums. */
    static double dot(double[] a, int ao, double[] b, int bo, int n) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int t = 0;
        for (; t + 3 < n; t += 4) {
            s0 += a[ao + t] * b[bo + t];
            s1 += a[ao + t + 1] * b[bo + t + 1];
            s2 += a[ao + t + 2] * b[bo + t + 2];
            s3 += a[ao + t + 3] * b[bo + t + 3];
        }
        for (; t < n; t++) {
            s0 += a[ao + t] * b[bo + t];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Runs {@code body} for 0..n-1 on the common pool (each index once; callers write disjoint outputs). */
    static void parallel(int n, java.util.function.IntConsumer body) {
        if (n <= 1) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        IntStream.range(0, n).parallel().forEach(body);
    }

    /** Runs {@code body(from, to)} over chunks of {@code chunk} indices of [0, n) in parallel. */
    static void parallelRanges(int n, int chunk, java.util.function.BiConsumer<Integer, Integer> body) {
        int parts = (n + chunk - 1) / chunk;
        parallel(parts, p -> body.accept(p * chunk, Math.min(n, (p + 1) * chunk)));
    }

    /** Float to double copy. */
    public static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Double to float (round to nearest). */
    public static float[] narrow(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
