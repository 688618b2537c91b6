package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.training.VqVaeTrainingKernels.ConvShape;
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
 * Finite-difference checks of every backward kernel of the VQ-VAE training pack ({@link VqVaeTrainingKernels}), in
 * double precision: for a random upstream gradient {@code G}, the scalar {@code L = Σ G ⊙ f(inputs)} is
 * differentiated numerically by central differences ({@code h = 1e-6}) at sampled coordinates of every input and
 * compared with the analytical gradient, with the tolerance {@code 1e-7 + 1e-6 |g|} of
 * {@code TrainingKernelsGradientTest}: an error in any term of a backward formula is far above it. That the
 * double forwards here are the SPI's operations (the reference backend's {@code VqVaeOps}) is checked in
 * {@code HostVqVaeTrainingOpsTest}.
 */
class VqVaeTrainingKernelsGradientTest {
    private static final double H = 1e-6;

    private static double[] random(Random r, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextGaussian() * scale;
        }
        return a;
    }

    private static double dot(double[] a, double[] b) {
        assertThat(a).as("output size").hasSameSizeAs(b);
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
        double largest = 0;
        for (int i : idx) {
            double saved = input[i];
            input[i] = saved + H;
            double up = loss.apply(input);
            input[i] = saved - H;
            double down = loss.apply(input);
            input[i] = saved;
            double fd = (up - down) / (2 * H);
            assertThat(Math.abs(fd - analytic[i])).as("%s: d/d[%d]: analytic %s, finite difference %s", what, i,
                    analytic[i], fd).isLessThanOrEqualTo(1e-7 + 1e-6 * Math.abs(fd));
            largest = Math.max(largest, Math.abs(fd));
        }
        assertThat(largest).as(what + ": the sampled gradients are not all zero").isGreaterThan(1e-3);
    }

    static Stream<Arguments> convs() {
        return Stream.of(
                // n, c, h, w, o, kh, kw, stride, padding top/bottom/left/right
                Arguments.of(new ConvShape(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1)), // 3x3 same
                Arguments.of(new ConvShape(2, 3, 7, 6, 2, 3, 3, 2, 0, 1, 0, 1)), // icetk's down-sampling conv
                Arguments.of(new ConvShape(2, 4, 6, 6, 3, 3, 3, 2, 0, 1, 0, 1)), // even input, stride 2
                Arguments.of(new ConvShape(2, 5, 4, 3, 6, 1, 1, 1, 0, 0, 0, 0)), // 1x1 (nin shortcut, quant conv)
                Arguments.of(new ConvShape(1, 2, 5, 5, 3, 2, 3, 3, 2, 0, 1, 2))); // odd kernel, stride 3, odd pads
    }

    @ParameterizedTest
    @MethodSource("convs")
    void conv2d(ConvShape s) {
        Random r = new Random(s.hashCode());
        double[] x = random(r, s.n() * s.c() * s.h() * s.w(), 1);
        double[] w = random(r, s.o() * s.c() * s.kh() * s.kw(), 0.5);
        double[] b = random(r, s.o(), 0.5);
        double[] g = random(r, s.n() * s.o() * s.ho() * s.wo(), 1);
        double[] dx = VqVaeTrainingKernels.conv2dBackwardX(g, w, s);
        double[] dw = VqVaeTrainingKernels.conv2dBackwardW(x, g, s);
        double[] db = VqVaeTrainingKernels.channelSums(g, s.n(), s.o(), s.ho() * s.wo());
        check("conv dX " + s, x, dx, xs -> dot(g, VqVaeTrainingKernels.conv2d(xs, w, b, s)), 60, r);
        check("conv dW " + s, w, dw, ws -> dot(g, VqVaeTrainingKernels.conv2d(x, ws, b, s)), 60, r);
        check("conv dBias " + s, b, db, bs -> dot(g, VqVaeTrainingKernels.conv2d(x, w, bs, s)), 60, r);
    }

    @Test
    void convInputRowsNoWindowReachesGetZero() {
        // stride 2, no padding, 3x3 on 6 rows: outputs at rows 0 and 2 read rows 0..4; row 5 is never read
        ConvShape s = new ConvShape(1, 1, 6, 6, 1, 3, 3, 2, 0, 0, 0, 0);
        Random r = new Random(5);
        double[] dx = VqVaeTrainingKernels.conv2dBackwardX(random(r, 4, 1), random(r, 9, 1), s);
        for (int i = 0; i < 6; i++) {
            assertThat(dx[5 * 6 + i]).as("row 5, column %d", i).isZero();
            assertThat(dx[i * 6 + 5]).as("row %d, column 5", i).isZero();
        }
        assertThat(dx[0]).isNotZero();
    }

    @ParameterizedTest
    @MethodSource("groupNorms")
    void groupNorm(int n, int c, int hw, int groups, double mean) {
        Random r = new Random(n * 100 + c * 10 + groups);
        double eps = 1e-6;
        double[] x = random(r, n * c * hw, 1.5);
        for (int i = 0; i < x.length; i++) {
            x[i] += mean;
        }
        double[] gamma = random(r, c, 1);
        double[] beta = random(r, c, 1);
        double[] g = random(r, x.length, 1);
        double[][] grads = VqVaeTrainingKernels.groupNormBackward(x, n, c, hw, groups, gamma, eps, g);
        check("groupNorm dX", x, grads[0],
                xs -> dot(g, VqVaeTrainingKernels.groupNorm(xs, n, c, hw, groups, gamma, beta, eps)), 60, r);
        check("groupNorm dGamma", gamma, grads[1],
                gs -> dot(g, VqVaeTrainingKernels.groupNorm(x, n, c, hw, groups, gs, beta, eps)), 60, r);
        check("groupNorm dBeta", beta, grads[2],
                bs -> dot(g, VqVaeTrainingKernels.groupNorm(x, n, c, hw, groups, gamma, bs, eps)), 60, r);
    }

    static Stream<Arguments> groupNorms() {
        return Stream.of(
                Arguments.of(2, 4, 6, 2, 0.0), // groups = 2
                Arguments.of(2, 6, 5, 1, 3.0), // one group, offset mean
                Arguments.of(1, 4, 9, 4, -1.0)); // a group per channel
    }

    @Test
    void swish() {
        Random r = new Random(3);
        double[] x = random(r, 40, 3);
        double[] g = random(r, 40, 1);
        check("swish", x, VqVaeTrainingKernels.swishBackward(x, g), xs -> dot(g, VqVaeTrainingKernels.swish(xs)), 40,
                r);
    }

    @Test
    void upsampleAndPool() {
        Random r = new Random(4);
        int planes = 6;
        double[] x = random(r, planes * 3 * 4, 1);
        double[] gUp = random(r, planes * 6 * 8, 1);
        check("upsample", x, VqVaeTrainingKernels.upsampleNearest2xBackward(gUp, planes, 3, 4),
                xs -> dot(gUp, VqVaeTrainingKernels.upsampleNearest2x(xs, planes, 3, 4)), 100, r);
        // odd height and width: the trailing row and column get 0
        double[] y = random(r, planes * 5 * 7, 1);
        double[] gPool = random(r, planes * 2 * 3, 1);
        double[] dy = VqVaeTrainingKernels.avgPool2x2Backward(gPool, planes, 5, 7);
        check("avgPool", y, dy, ys -> dot(gPool, VqVaeTrainingKernels.avgPool2x2(ys, planes, 5, 7)), 300, r);
        assertThat(dy[4 * 7 + 2]).as("dropped row").isZero();
        assertThat(dy[6]).as("dropped column").isZero();
    }

    @ParameterizedTest
    @MethodSource("attentions")
    void spatialAttention(int n, int c, int positions, double scale) {
        Random r = new Random(c * 31 + positions);
        double[] q = random(r, n * c * positions, scale);
        double[] k = random(r, n * c * positions, scale);
        double[] v = random(r, n * c * positions, 1);
        double[] g = random(r, n * c * positions, 1);
        double[][] grads = VqVaeTrainingKernels.spatialAttentionBackward(q, k, v, g, n, c, positions);
        check("attention dQ", q, grads[0],
                qs -> dot(g, VqVaeTrainingKernels.spatialAttention(qs, k, v, n, c, positions)), 60, r);
        check("attention dK", k, grads[1],
                ks -> dot(g, VqVaeTrainingKernels.spatialAttention(q, ks, v, n, c, positions)), 60, r);
        check("attention dV", v, grads[2],
                vs -> dot(g, VqVaeTrainingKernels.spatialAttention(q, k, vs, n, c, positions)), 60, r);
    }

    static Stream<Arguments> attentions() {
        return Stream.of(Arguments.of(2, 4, 9, 1.0), Arguments.of(1, 8, 6, 2.0));
    }
}
