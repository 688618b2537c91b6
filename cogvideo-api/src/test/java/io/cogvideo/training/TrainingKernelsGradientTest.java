package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.AttentionMask.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Finite-difference checks of every backward kernel of the training pack, in double precision: for a random
 * upstream gradient {@code G}, the scalar {@code L = Σ G ⊙ f(inputs)} is differentiated numerically by central
 * differences ({@code h = 1e-6}) at sampled coordinates of every input and compared with the analytical
 * gradient. In double the truncation error is {@code O(h²) ≈ 1e-12} and the rounding error about
 * {@code 1e-16 |L| / h ≈ 1e-9}, so the tolerance {@code 1e-7 + 1e-6 |g|} is tight: an error in any term of a backward formula is far above it.
 */
class TrainingKernelsGradientTest {
    private static final double H = 1e-6;

    private static double[] random(Random r, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextGaussian() * scale;
        }
        return a;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /**
     * Checks {@code analytic} against central differences of {@code loss} at up to {@code samples} coordinates of
     * {@code input} (perturbed in place and restored).
     */
    private static void check(String what, double[] input, double[] analytic, Function<double[], Double> loss,
            int samples, Random r) {
        assertThat(analytic).as(what + " gradient size").hasSize(input.length);
        List<Integer> idx = new ArrayList<>();
        if (input.length <= samples) {
            for (int i = 0; i < input.length; i++) {
                idx.add(i);
            }
        } else {
            for (int s = 0; s < samples; s++) {
                idx.add(r.nextInt(input.length));
            }
        }
        double worst = 0;
        for (int i : idx) {
            double saved = input[i];
            input[i] = saved + H;
            double up = loss.apply(input);
            input[i] = saved - H;
            double down = loss.apply(input);
            input[i] = saved;
            double fd = (up - down) / (2 * H);
            double err = Math.abs(fd - analytic[i]);
            assertThat(err).as("%s: d/d[%d]: analytic %s, finite difference %s", what, i, analytic[i], fd)
                    .isLessThanOrEqualTo(1e-7 + 1e-6 * Math.abs(fd));
            worst = Math.max(worst, err);
        }
    }

    @Test
    void linear() {
        Random r = new Random(1);
        int rows = 5;
        int in = 7;
        int out = 4;
        double[] x = random(r, rows * in, 1);
        double[] w = random(r, out * in, 0.5);
        double[] b = random(r, out, 0.5);
        double[] g = random(r, rows * out, 1);
        Function<double[], Double> l = unused -> dot(g, TrainingKernels.linear(x, rows, in, w, out, b));
        check("linear dX", x, TrainingKernels.linearBackwardX(g, rows, in, w, out), l, 100, r);
        check("linear dW", w, TrainingKernels.linearBackwardW(x, g, rows, in, out), l, 100, r);
        check("linear db", b, TrainingKernels.columnSums(g, rows, out), l, 100, r);
    }

    @Test
    void layerNorm() {
        Random r = new Random(2);
        int rows = 4;
        int h = 9;
        double[] x = random(r, rows * h, 2);
        double[] gamma = random(r, h, 1);
        double[] beta = random(r, h, 1);
        double[] g = random(r, rows * h, 1);
        double eps = 1e-5;
        Function<double[], Double> l = unused -> dot(g, TrainingKernels.layerNorm(x, rows, h, gamma, beta, eps));
        double[][] grads = TrainingKernels.layerNormBackward(x, rows, h, gamma, eps, g);
        check("layerNorm dX", x, grads[0], l, 100, r);
        check("layerNorm dGamma", gamma, grads[1], l, 100, r);
        check("layerNorm dBeta", beta, grads[2], l, 100, r);
    }

    @Test
    void gelu() {
        Random r = new Random(3);
        double[] x = random(r, 64, 3);
        double[] g = random(r, 64, 1);
        check("gelu", x, TrainingKernels.geluBackward(x, g), unused -> dot(g, TrainingKernels.gelu(x)), 64, r);
    }

    @Test
    void channelMix() {
        Random r = new Random(4);
        int h = 6;
        int rows = 5;
        double[] base = random(r, rows * h, 1);
        double[] plus = random(r, rows * h, 1);
        double[] a = random(r, h, 2);
        double[] g = random(r, rows * h, 1);
        Function<double[], Double> l = unused -> dot(g, TrainingKernels.channelMix(base, plus, a, h));
        double[][] grads = TrainingKernels.channelMixBackward(base, plus, a, h, g);
        check("channelMix dBase", base, grads[0], l, 100, r);
        check("channelMix dPlus", plus, grads[1], l, 100, r);
        check("channelMix dMixLogits (sigmoid gate)", a, grads[2], l, 100, r);
    }

    @Test
    void gatherRowsScatterAdd() {
        Random r = new Random(5);
        int v = 6;
        int h = 3;
        int[] rows = {4, 1, 4, 0, 5, 4};
        double[] table = random(r, v * h, 1);
        double[] g = random(r, rows.length * h, 1);
        check("gatherRows (repeated rows summed)", table, TrainingKernels.gatherRowsBackward(g, h, rows, v),
                unused -> dot(g, TrainingKernels.gatherRows(table, h, rows)), 100, r);
    }

    @Test
    void dropoutIsItsOwnBackwardAndKeepsTheRate() {
        Random r = new Random(6);
        double[] x = random(r, 50, 1);
        double[] g = random(r, 50, 1);
        check("dropout", x, TrainingKernels.dropout(g, 0.3, 99),
                unused -> dot(g, TrainingKernels.dropout(x, 0.3, 99)), 50, r);
        double[] ones = new double[100_000];
        java.util.Arrays.fill(ones, 1);
        double[] y = TrainingKernels.dropout(ones, 0.25, 7);
        long dropped = java.util.Arrays.stream(y).filter(d -> d == 0).count();
        assertThat(dropped / 100_000.0).isBetween(0.24, 0.26);
        assertThat(java.util.Arrays.stream(y).filter(d -> d != 0).allMatch(d -> Math.abs(d - 1 / 0.75) < 1e-12))
                .isTrue();
        assertThat(TrainingKernels.dropout(ones, 0.25, 7)).isEqualTo(y);
        assertThat(TrainingKernels.dropout(ones, 0.25, 8)).isNotEqualTo(y);
    }

    @Test
    void crossEntropyOfTheTiedHead() {
        Random r = new Random(7);
        int rows = 5;
        int h = 4;
        int vocab = 11;
        double[] x = random(r, rows * h, 1);
        double[] head = random(r, vocab * h, 1);
        int[] labels = {3, 0, 10, 3, 7};
        double[] w = {0.5, 0, 1.25, 0.2, 0.05};
        double[] losses = new double[rows];
        double[] dx = new double[rows * h];
        double[] dHead = new double[vocab * h];
        TrainingKernels.crossEntropy(x, rows, h, head, vocab, labels, w, losses, dx, dHead);
        Function<double[], Double> l = unused -> {
            double[] ls = new double[rows];
            TrainingKernels.crossEntropy(x, rows, h, head, vocab, labels, new double[rows], ls, new double[rows * h],
                    new double[vocab * h]);
            return dot(w, ls);
        };
        check("crossEntropy dX", x, dx, l, 100, r);
        check("crossEntropy dHead", head, dHead, l, 100, r);
        // the loss itself against a direct evaluation
        for (int i = 0; i < rows; i++) {
            double[] logits = TrainingKernels.linear(java.util.Arrays.copyOfRange(x, i * h, i * h + h), 1, h, head,
                    vocab, null);
            double m = java.util.Arrays.stream(logits).max().orElseThrow();
            double lse = m + Math.log(java.util.Arrays.stream(logits).map(z -> Math.exp(z - m)).sum());
            assertThat(losses[i]).isCloseTo(lse - logits[labels[i]], org.assertj.core.data.Offset.offset(1e-12));
        }
        assertThat(java.util.Arrays.copyOfRange(dx, h, 2 * h)).as("weight-0 row gets no gradient")
                .containsOnly(0.0);
    }

    // ---------------------------------------------------------------- attention, every mask kind

    private static final int HEADS = 2;
    private static final int D = 3;
    private static final int T = 3;
    private static final int GRID = 4;
    private static final int L = GRID * GRID;
    private static final int FRAMES = 5;

    /** A mask kind with its query and key row counts. */
    record Kind(String name, AttentionMask mask, int nq, int nk, double dropout) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> maskKinds() {
        int all = T + FRAMES * L;
        int frames = FRAMES * L;
        List<Kind> k = new ArrayList<>();
        k.add(new Kind("spatial training: own frame causal, text queries, 1 pad",
                AttentionMask.spatialTraining(HEADS, T, 1, GRID), all, all, 0));
        k.add(new Kind("spatial interp training: own frame, frames 0,2,4 full, 1,3 causal",
                AttentionMask.spatialInterpTraining(HEADS, T, 1, GRID), all, all, 0));
        k.add(new Kind("stage-1 plus training: causal over all frames",
                AttentionMask.stage1PlusTraining(HEADS, T, 1, GRID), frames, all, 0));
        k.add(new Kind("stage-2 window training, unshifted, interp",
                AttentionMask.stage2WindowTraining(HEADS, T, 1, GRID, 2, false), frames, all, 0));
        k.add(new Kind("stage-2 window training, shifted with region mask (no wrap), interp",
                AttentionMask.stage2WindowTraining(HEADS, T, 1, GRID, 2, true), frames, all, 0));
        k.add(new Kind("stage-2 window prefill, shifted with wrap-around, not causal",
                AttentionMask.stage2WindowPrefill(HEADS, T, GRID, 2, true), 3 * L, T + 3 * L, 0));
        k.add(new Kind("window causal, shifted without wrap, text boost",
                new AttentionMask(HEADS, T, 0, 0.7f, false, 0, 0, L, GRID, Scope.WINDOW, true, 2, 1, false),
                frames, all, 0));
        k.add(new Kind("spatial prefill: own frame causal, text boost",
                AttentionMask.spatialPrefill(HEADS, T, GRID, 1.3f, true), all, all, 0));
        k.add(new Kind("super-resolution base: full, pads seen only by pads",
                AttentionMask.superResolutionBase(HEADS, T, 2, GRID), T + L, T + L, 0));
        k.add(new Kind("stage-1 plus step at position 37 (one query, boosted text)",
                AttentionMask.stage1PlusStep(HEADS, T, GRID, 0.9f, 37), 1, T + 38, 0));
        k.add(new Kind("stage-2 window training, shifted, attention dropout 0.3",
                AttentionMask.stage2WindowTraining(HEADS, T, 1, GRID, 2, true), frames, all, 0.3));
        k.add(new Kind("stage-1 plus training, attention dropout 0.5",
                AttentionMask.stage1PlusTraining(HEADS, T, 1, GRID), frames, all, 0.5));
        return k.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("maskKinds")
    void attention(Kind kind) {
        Random r = new Random(kind.name().hashCode());
        int width = HEADS * D;
        int batch = 2;
        TrainingKernels.AttentionShape s = new TrainingKernels.AttentionShape(batch, kind.nq(), kind.nk(), HEADS, D);
        double[] q = random(r, batch * kind.nq() * width, 1);
        double[] k = random(r, batch * kind.nk() * width, 1);
        double[] v = random(r, batch * kind.nk() * width, 1);
        double[] g = random(r, q.length, 1);
        int[][] keys = TrainingKernels.visibleKeys(kind.mask(), kind.nq(), kind.nk());
        long seed = 12345;
        Function<double[], Double> loss = unused -> {
            double[] out = new double[q.length];
            TrainingKernels.attentionForward(q, k, v, s, kind.mask(), keys, kind.dropout(), seed, out,
                    new double[batch * HEADS * kind.nq()]);
            return dot(g, out);
        };
        double[] out = new double[q.length];
        double[] lse = new double[batch * HEADS * kind.nq()];
        TrainingKernels.attentionForward(q, k, v, s, kind.mask(), keys, kind.dropout(), seed, out, lse);
        double[] dq = new double[q.length];
        double[] dk = new double[k.length];
        double[] dv = new double[v.length];
        TrainingKernels.attentionBackward(q, k, v, s, kind.mask(), keys, kind.dropout(), seed, out, lse, g, dq, dk,
                dv);
        check(kind.name() + " dQ", q, dq, loss, 60, r);
        check(kind.name() + " dK", k, dk, loss, 60, r);
        check(kind.name() + " dV", v, dv, loss, 60, r);
        // the forward against a direct softmax over the mask (no dropout): probabilities sum to 1 per row
        if (kind.dropout() == 0) {
            double[] ref = naiveAttention(q, k, v, batch, kind);
            for (int i = 0; i < out.length; i++) {
                assertThat(out[i]).as("forward value %d", i).isCloseTo(ref[i], org.assertj.core.data.Offset.offset(
                        1e-12));
            }
        }
    }

    /** Textbook attention with the mask evaluated pair by pair. */
    private static double[] naiveAttention(double[] q, double[] k, double[] v, int batch, Kind kind) {
        int width = HEADS * D;
        double[] out = new double[q.length];
        AttentionMask m = kind.mask();
        for (int b = 0; b < batch; b++) {
            for (int hd = 0; hd < HEADS; hd++) {
                for (int i = 0; i < kind.nq(); i++) {
                    double[] sc = new double[kind.nk()];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < kind.nk(); j++) {
                        if (!m.visible(i, j)) {
                            sc[j] = Double.NaN;
                            continue;
                        }
                        double s = 0;
                        for (int t = 0; t < D; t++) {
                            s += q[(b * kind.nq() + i) * width + hd * D + t]
                                    * k[(b * kind.nk() + j) * width + hd * D + t];
                        }
                        sc[j] = s / Math.sqrt(D) + (j < m.textLength() ? m.textBoost() : 0);
                        max = Math.max(max, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < kind.nk(); j++) {
                        if (!Double.isNaN(sc[j])) {
                            sum += Math.exp(sc[j] - max);
                        }
                    }
                    for (int j = 0; j < kind.nk(); j++) {
                        if (Double.isNaN(sc[j])) {
                            continue;
                        }
                        double p = Math.exp(sc[j] - max) / sum;
                        for (int t = 0; t < D; t++) {
                            out[(b * kind.nq() + i) * width + hd * D + t] +=
                                    p * v[(b * kind.nk() + j) * width + hd * D + t];
                        }
                    }
                }
            }
        }
        return out;
    }
}
