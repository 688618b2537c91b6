package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The image operations of the backend SPI that the VQ-VAE uses ({@code conv2d}, {@code groupNorm}, {@code swish},
 * {@code groupNormSwish}, {@code upsampleNearest2x}, {@code avgPool2x2}, {@code spatialAttention},
 * {@code codebookNearest}, {@code codebookLookup}) against naive loops in double precision, on random inputs with
 * odd sizes, strides and asymmetric paddings. Subclass it and provide a backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class VqVaeOpsKit {
    protected Backend backend;
    private final Random rnd = new Random(1234);

    /** The backend under test. */
    protected abstract Backend newBackend();

    /** The backend's VQ-VAE op pack (every test here needs it). */
    protected VqVaeOps vq() {
        return OpPacks.require(backend, VqVaeOps.class, "the VQ-VAE op tests");
    }

    @BeforeAll
    void setUp() {
        backend = CheckedBackend.wrap(newBackend());
    }

    @AfterAll
    void tearDown() {
        if (backend != null) {
            backend.close();
        }
    }

    protected float[] random(int n, double scale, double offset) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (offset + scale * rnd.nextGaussian());
        }
        return a;
    }

    protected static void assertClose(String what, float[] got, double[] expected, double tol) {
        assertThat(got.length).as(what + " length").isEqualTo(expected.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < got.length; i++) {
            double e = Math.abs(got[i] - expected[i]) / Math.max(1.0, Math.abs(expected[i]));
            if (!(e <= worst)) {
                worst = e;
                at = i;
            }
        }
        assertThat(worst).as(what + ": worst error at " + at).isLessThanOrEqualTo(tol);
    }

    // ------------------------------------------------------------------ conv2d

    /** Direct definition of a zero-padded strided cross-correlation. */
    protected static double[] naiveConv(float[] x, int n, int c, int h, int w, float[] wt, int o, int kh, int kw,
            float[] bias, int stride, int pt, int pb, int pl, int pr) {
        int ho = (h + pt + pb - kh) / stride + 1;
        int wo = (w + pl + pr - kw) / stride + 1;
        double[] y = new double[n * o * ho * wo];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < o; oc++) {
                for (int oy = 0; oy < ho; oy++) {
                    for (int ox = 0; ox < wo; ox++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ci = 0; ci < c; ci++) {
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * stride - pt + ky;
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * stride - pl + kx;
                                    if (ix < 0 || ix >= w) {
                                        continue;
                                    }
                                    s += (double) x[((b * c + ci) * h + iy) * w + ix]
                                            * wt[((oc * c + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        y[((b * o + oc) * ho + oy) * wo + ox] = s;
                    }
                }
            }
        }
        return y;
    }

    protected void checkConv(int n, int c, int h, int w, int o, int kh, int kw, boolean withBias, int stride, int pt,
            int pb, int pl, int pr) {
        float[] x = random(n * c * h * w, 1, 0);
        float[] wt = random(o * c * kh * kw, 0.2, 0);
        float[] b = withBias ? random(o, 0.5, 0) : null;
        Tensor out = vq().conv2d(backend.fromFloats(x, n, c, h, w), backend.fromFloats(wt, o, c, kh, kw),
                b == null ? null : backend.fromFloats(b, o), stride, pt, pb, pl, pr);
        int ho = (h + pt + pb - kh) / stride + 1;
        int wo = (w + pl + pr - kw) / stride + 1;
        String what = "conv2d " + n + "x" + c + "x" + h + "x" + w + " k" + kh + "x" + kw + " s" + stride + " pad ("
                + pt + "," + pb + "," + pl + "," + pr + ")";
        assertThat(out.shape()).as(what + " shape").containsExactly(n, o, ho, wo);
        assertClose(what, backend.toFloats(out), naiveConv(x, n, c, h, w, wt, o, kh, kw, b, stride, pt, pb, pl, pr),
                1e-5);
    }

    @Test
    void conv2dSamePadding() {
        checkConv(2, 5, 7, 6, 4, 3, 3, true, 1, 1, 1, 1, 1);
    }

    @Test
    void conv2dStridedAsymmetricPadding() {
        // the VQ-VAE down-sampling: F.pad(x, (0, 1, 0, 1)) then a 3x3 stride-2 conv without padding
        checkConv(2, 4, 8, 8, 6, 3, 3, true, 2, 0, 1, 0, 1);
        checkConv(1, 3, 7, 9, 5, 3, 3, true, 2, 0, 1, 0, 1);
    }

    @Test
    void conv2dPointwiseAndOddKernels() {
        checkConv(3, 6, 5, 4, 7, 1, 1, true, 1, 0, 0, 0, 0);
        checkConv(1, 6, 5, 4, 7, 1, 1, false, 2, 0, 0, 0, 0);
        checkConv(2, 3, 6, 7, 2, 3, 2, false, 1, 2, 0, 1, 3);
        checkConv(1, 2, 9, 9, 3, 5, 5, true, 3, 2, 2, 2, 2);
    }

    @Test
    void conv2dRejectsChannelMismatch() {
        Tensor x = backend.fromFloats(new float[2 * 4 * 4], 1, 2, 4, 4);
        Tensor w = backend.fromFloats(new float[3 * 3 * 9], 3, 3, 3, 3);
        assertThatThrownBy(() -> vq().conv2d(x, w, null, 1, 1, 1, 1, 1)).isInstanceOf(RuntimeException.class)
                .hasMessageContaining("conv2d");
    }

    // ------------------------------------------------------------------ group norm, swish

    protected static double[] naiveGroupNorm(float[] x, int n, int c, int hw, int groups, float[] g, float[] b,
            double eps, boolean swish) {
        double[] y = new double[x.length];
        int cpg = c / groups;
        for (int bi = 0; bi < n; bi++) {
            for (int gi = 0; gi < groups; gi++) {
                double mean = 0;
                int cnt = cpg * hw;
                for (int ci = gi * cpg; ci < (gi + 1) * cpg; ci++) {
                    for (int i = 0; i < hw; i++) {
                        mean += x[(bi * c + ci) * hw + i];
                    }
                }
                mean /= cnt;
                double var = 0;
                for (int ci = gi * cpg; ci < (gi + 1) * cpg; ci++) {
                    for (int i = 0; i < hw; i++) {
                        double d = x[(bi * c + ci) * hw + i] - mean;
                        var += d * d;
                    }
                }
                var /= cnt;
                for (int ci = gi * cpg; ci < (gi + 1) * cpg; ci++) {
                    for (int i = 0; i < hw; i++) {
                        int k = (bi * c + ci) * hw + i;
                        double v = (x[k] - mean) / Math.sqrt(var + eps) * g[ci] + b[ci];
                        y[k] = swish ? v / (1 + Math.exp(-v)) : v;
                    }
                }
            }
        }
        return y;
    }

    @Test
    void groupNormMatchesDefinition() {
        int n = 2;
        int c = 64;
        int h = 5;
        int w = 3;
        for (int groups : new int[] {32, 4, 1}) {
            float[] x = random(n * c * h * w, 3, 100); // a large mean: the variance must not cancel
            float[] g = random(c, 1, 1);
            float[] b = random(c, 1, 0);
            Tensor xt = backend.fromFloats(x, n, c, h, w);
            Tensor gt = backend.fromFloats(g, c);
            Tensor bt = backend.fromFloats(b, c);
            assertClose("groupNorm groups=" + groups, backend.toFloats(vq().groupNorm(xt, groups, gt, bt, 1e-6f)),
                    naiveGroupNorm(x, n, c, h * w, groups, g, b, 1e-6, false), 1e-5);
            assertClose("groupNormSwish groups=" + groups,
                    backend.toFloats(vq().groupNormSwish(xt, groups, gt, bt, 1e-6f)),
                    naiveGroupNorm(x, n, c, h * w, groups, g, b, 1e-6, true), 1e-5);
        }
    }

    @Test
    void groupNormOfConstantGroupIsBeta() {
        // zero variance: (x - mean) = 0 exactly, eps keeps the division finite
        float[] x = new float[2 * 4 * 2 * 2];
        java.util.Arrays.fill(x, 7.5f);
        float[] g = {2, 2, 2, 2};
        float[] b = {0.5f, -1, 0, 3};
        float[] y = backend.toFloats(vq().groupNorm(backend.fromFloats(x, 2, 4, 2, 2), 2, backend.fromFloats(g, 4),
                backend.fromFloats(b, 4), 1e-6f));
        for (int i = 0; i < y.length; i++) {
            assertThat(y[i]).isEqualTo(b[(i / 4) % 4]);
        }
    }

    @Test
    void swishMatchesDefinition() {
        float[] x = random(3 * 50, 4, 0);
        x[0] = 0;
        x[1] = -80;
        x[2] = 80;
        double[] e = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            e[i] = x[i] / (1 + Math.exp(-(double) x[i]));
        }
        assertClose("swish", backend.toFloats(vq().swish(backend.fromFloats(x, 1, 3, 5, 10))), e, 1e-6);
    }

    // ------------------------------------------------------------------ resampling

    @Test
    void upsampleNearestRepeatsEachPixel() {
        int n = 2;
        int c = 3;
        int h = 3;
        int w = 5;
        float[] x = random(n * c * h * w, 1, 0);
        Tensor y = vq().upsampleNearest2x(backend.fromFloats(x, n, c, h, w));
        assertThat(y.shape()).containsExactly(n, c, 2 * h, 2 * w);
        float[] ys = backend.toFloats(y);
        for (int p = 0; p < n * c; p++) {
            for (int oy = 0; oy < 2 * h; oy++) {
                for (int ox = 0; ox < 2 * w; ox++) {
                    assertThat(ys[(p * 2 * h + oy) * 2 * w + ox]).isEqualTo(x[(p * h + oy / 2) * w + ox / 2]);
                }
            }
        }
    }

    @Test
    void avgPoolAveragesWindowsAndDropsOddEdges() {
        int n = 2;
        int c = 3;
        for (int[] hw : new int[][] {{4, 6}, {5, 7}}) {
            int h = hw[0];
            int w = hw[1];
            float[] x = random(n * c * h * w, 1, 0);
            Tensor y = vq().avgPool2x2(backend.fromFloats(x, n, c, h, w));
            int ho = h / 2;
            int wo = w / 2;
            assertThat(y.shape()).containsExactly(n, c, ho, wo);
            double[] e = new double[n * c * ho * wo];
            for (int p = 0; p < n * c; p++) {
                for (int oy = 0; oy < ho; oy++) {
                    for (int ox = 0; ox < wo; ox++) {
                        int i = (p * h + 2 * oy) * w + 2 * ox;
                        e[(p * ho + oy) * wo + ox] = ((double) x[i] + x[i + 1] + x[i + w] + x[i + w + 1]) / 4;
                    }
                }
            }
            assertClose("avgPool2x2 " + h + "x" + w, backend.toFloats(y), e, 1e-6);
        }
    }

    // ------------------------------------------------------------------ attention

    @Test
    void spatialAttentionMatchesDefinition() {
        int n = 2;
        int c = 6;
        int h = 3;
        int w = 5;
        int p = h * w;
        float[] q = random(n * c * p, 1, 0);
        float[] k = random(n * c * p, 1, 0);
        float[] v = random(n * c * p, 1, 0);
        double[] e = new double[n * c * p];
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < p; i++) {
                double[] s = new double[p];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < p; j++) {
                    for (int ci = 0; ci < c; ci++) {
                        s[j] += (double) q[(b * c + ci) * p + i] * k[(b * c + ci) * p + j];
                    }
                    s[j] /= Math.sqrt(c);
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < p; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int ci = 0; ci < c; ci++) {
                    double o = 0;
                    for (int j = 0; j < p; j++) {
                        o += s[j] / sum * v[(b * c + ci) * p + j];
                    }
                    e[(b * c + ci) * p + i] = o;
                }
            }
        }
        Tensor y = vq().spatialAttention(backend.fromFloats(q, n, c, h, w), backend.fromFloats(k, n, c, h, w),
                backend.fromFloats(v, n, c, h, w));
        assertThat(y.shape()).containsExactly(n, c, h, w);
        assertClose("spatialAttention", backend.toFloats(y), e, 1e-5);
    }

    // ------------------------------------------------------------------ codebook

    @Test
    void codebookNearestMatchesDefinition() {
        int n = 2;
        int d = 8;
        int h = 3;
        int w = 4;
        int k = 50;
        float[] z = random(n * d * h * w, 1, 0);
        float[] e = random(k * d, 1, 0);
        int[] ids = vq().codebookNearest(backend.fromFloats(z, n, d, h, w), backend.fromFloats(e, k, d));
        assertThat(ids).hasSize(n * h * w);
        for (int b = 0; b < n; b++) {
            for (int pos = 0; pos < h * w; pos++) {
                int best = 0;
                double bestD = Double.POSITIVE_INFINITY;
                for (int j = 0; j < k; j++) {
                    double dist = 0;
                    for (int di = 0; di < d; di++) {
                        double diff = z[(b * d + di) * h * w + pos] - e[j * d + di];
                        dist += diff * diff;
                    }
                    if (dist < bestD) {
                        bestD = dist;
                        best = j;
                    }
                }
                assertThat(ids[b * h * w + pos]).as("batch " + b + " position " + pos).isEqualTo(best);
            }
        }
    }

    @Test
    void codebookNearestBreaksTiesByLowestIndex() {
        int d = 4;
        // entries 1, 3 and 4 are equal; 0 and 2 are far away
        float[] e = {9, 9, 9, 9, 1, 2, 3, 4, -9, -9, -9, -9, 1, 2, 3, 4, 1, 2, 3, 4};
        // two positions: one exactly on the repeated entry, one equidistant from entries 0 and 2 (the origin)
        float[] z = {1, 0, 2, 0, 3, 0, 4, 0};
        int[] ids = vq().codebookNearest(backend.fromFloats(z, 1, d, 1, 2), backend.fromFloats(e, 5, d));
        assertThat(ids).containsExactly(1, 1);
        float[] far = {0, 0, 0, 0};
        float[] sym = {9, 9, 9, 9, -9, -9, -9, -9};
        assertThat(vq().codebookNearest(backend.fromFloats(far, 1, d, 1, 1), backend.fromFloats(sym, 2, d)))
                .containsExactly(0);
    }

    @Test
    void codebookLookupIsTheInverseLayout() {
        int k = 7;
        int d = 3;
        float[] e = random(k * d, 1, 0);
        int[] ids = {6, 0, 3, 3, 1, 5, 2, 4, 0, 6, 1, 2};
        int n = 2;
        int h = 2;
        int w = 3;
        Tensor z = vq().codebookLookup(backend.fromFloats(e, k, d), ids, n, h, w);
        assertThat(z.shape()).containsExactly(n, d, h, w);
        float[] zs = backend.toFloats(z);
        for (int b = 0; b < n; b++) {
            for (int pos = 0; pos < h * w; pos++) {
                for (int di = 0; di < d; di++) {
                    assertThat(zs[(b * d + di) * h * w + pos]).isEqualTo(e[ids[b * h * w + pos] * d + di]);
                }
            }
        }
        assertThat(vq().codebookNearest(z, backend.fromFloats(e, k, d))).containsExactly(ids);
        assertThatThrownBy(() -> vq().codebookLookup(backend.fromFloats(e, k, d), new int[] {0, 7}, 1, 1, 2))
                .isInstanceOf(RuntimeException.class).hasMessageContaining("7");
    }
}
