package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.VqVaeTrainingOps;
import io.cogvideo.spi.VqVaeTrainingOps.Conv2dGrads;
import io.cogvideo.spi.VqVaeTrainingOps.GroupNormGrads;
import io.cogvideo.spi.VqVaeTrainingOps.SpatialAttentionGrads;
import io.cogvideo.training.HostVqVaeTrainingOps;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend's float32 VQ-VAE training pack ({@link CpuVqVaeTrainingOps}) against the double-precision
 * plain-Java pack ({@link HostVqVaeTrainingOps}, itself checked by finite differences in
 * {@code VqVaeTrainingKernelsGradientTest}) over the same raw backend, on the shapes of the demo VQ-VAE: batch 1 and
 * 2, 32 to 128 channels, 24x24 and 12x12 maps; 3x3 convs with padding 1, icetk's stride-2 down-sampling conv with
 * padding (0, 1, 0, 1), 1x1 convs, a conv large enough to be cut into bands of output rows, the first layer (no
 * dX, no bias). Agreement is the golden gradient rule: max abs error {@code <= 1e-4 * max|reference| + 1e-8}.
 */
class CpuVqVaeTrainingOpsTest {
    private final CpuBackend backend = new CpuBackend(new BackendOptions(2, DType.FLOAT32));
    private final VqVaeTrainingOps cpu = backend.find(VqVaeTrainingOps.class).orElseThrow();
    private final VqVaeTrainingOps host = new HostVqVaeTrainingOps(backend);
    private final Random random = new Random(29);

    @AfterEach
    void close() {
        backend.close();
    }

    private Tensor random(double scale, int... shape) {
        float[] v = new float[(int) TensorData.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextGaussian() * scale);
        }
        return backend.fromFloats(v, shape);
    }

    private void assertClose(String what, Tensor got, Tensor want) {
        if (want == null) {
            assertThat(got).as(what).isNull();
            return;
        }
        assertThat(got).as(what).isNotNull();
        assertThat(got.shape()).as(what + " shape").containsExactly(want.shape());
        float[] g = backend.toFloats(got);
        float[] w = backend.toFloats(want);
        double max = 0;
        double err = 0;
        int worst = -1;
        for (int i = 0; i < w.length; i++) {
            max = Math.max(max, Math.abs(w[i]));
            double e = Math.abs((double) g[i] - w[i]);
            if (!(e <= err)) {
                err = e;
                worst = i;
            }
        }
        assertThat(max).as(what + " is not all zero").isGreaterThan(0);
        assertThat(err).as("%s: max abs error at %d (got %s, want %s), max|want| %s", what, worst,
                worst < 0 ? null : g[worst], worst < 0 ? null : w[worst], max).isLessThanOrEqualTo(1e-4 * max + 1e-8);
    }

    static Stream<Arguments> convs() {
        return Stream.of(
                // n, c, h, w, o, k, stride, pads top/bottom/left/right, inputGrad, bias
                Arguments.of(2, 32, 24, 24, 64, 3, 1, new int[] {1, 1, 1, 1}, true, true),
                Arguments.of(2, 64, 24, 24, 64, 3, 2, new int[] {0, 1, 0, 1}, true, true), // down-sampling
                Arguments.of(2, 128, 12, 12, 64, 1, 1, new int[] {0, 0, 0, 0}, true, false), // nin shortcut
                Arguments.of(1, 32, 24, 24, 32, 3, 1, new int[] {1, 1, 1, 1}, true, true), // batch 1: threaded GEMMs
                Arguments.of(2, 3, 24, 24, 32, 3, 1, new int[] {1, 1, 1, 1}, false, true), // first layer
                Arguments.of(3, 8, 9, 7, 5, 3, 2, new int[] {0, 1, 2, 0}, true, true), // odd sizes, 3 samples
                Arguments.of(2, 16, 10, 10, 8, 1, 2, new int[] {0, 0, 0, 0}, true, true), // strided 1x1
                Arguments.of(1, 128, 64, 64, 4, 3, 1, new int[] {1, 1, 1, 1}, true, true)); // cut into bands
    }

    @ParameterizedTest
    @MethodSource("convs")
    void conv2dBackward(int n, int c, int h, int w, int o, int k, int stride, int[] pad, boolean inputGrad,
            boolean bias) {
        int ho = (h + pad[0] + pad[1] - k) / stride + 1;
        int wo = (w + pad[2] + pad[3] - k) / stride + 1;
        if (c * k * k * wo * ho > CpuVqVaeTrainingOps.COLUMN_LIMIT) {
            assertThat(CpuVqVaeTrainingOps.COLUMN_LIMIT / (c * k * k * wo)).as("rows per band").isLessThan(ho);
        }
        Tensor x = random(1, n, c, h, w);
        Tensor weight = random(0.1, o, c, k, k);
        Tensor dy = random(1, n, o, ho, wo);
        String what = "conv [" + n + ", " + c + ", " + h + ", " + w + "] -> " + o + " k" + k + " s" + stride;
        Conv2dGrads got = cpu.conv2dBackward(x, weight, dy, stride, pad[0], pad[1], pad[2], pad[3], inputGrad, bias);
        Conv2dGrads want = host.conv2dBackward(x, weight, dy, stride, pad[0], pad[1], pad[2], pad[3], inputGrad,
                bias);
        assertClose(what + " dX", got.dX(), want.dX());
        assertClose(what + " dW", got.dWeight(), want.dWeight());
        assertClose(what + " dBias", got.dBias(), want.dBias());
    }

    @Test
    void groupNormSwishAndResampling() {
        for (int[] s : new int[][] {{2, 128, 24, 24, 32}, {2, 64, 12, 12, 32}, {1, 32, 5, 7, 2}}) {
            int[] shape = {s[0], s[1], s[2], s[3]};
            Tensor x = backend.fromFloats(offset(backend.toFloats(random(1.5, shape)), 3f), shape);
            Tensor gamma = random(1, s[1]);
            Tensor dy = random(1, shape);
            GroupNormGrads got = cpu.groupNormBackward(x, s[4], gamma, dy, 1e-6f);
            GroupNormGrads want = host.groupNormBackward(x, s[4], gamma, dy, 1e-6f);
            String what = "groupNorm " + java.util.Arrays.toString(s);
            assertClose(what + " dX", got.dX(), want.dX());
            assertClose(what + " dGamma", got.dGamma(), want.dGamma());
            assertClose(what + " dBeta", got.dBeta(), want.dBeta());
            Tensor z = random(3, shape);
            assertClose("swish " + what, cpu.swishBackward(z, dy), host.swishBackward(z, dy));
        }
        Tensor up = random(1, 2, 64, 24, 24);
        assertClose("upsample", cpu.upsampleNearest2xBackward(up), host.upsampleNearest2xBackward(up));
        Tensor pooled = random(1, 2, 32, 12, 12);
        assertClose("avgPool 24x24", cpu.avgPool2x2Backward(pooled, 24, 24), host.avgPool2x2Backward(pooled, 24, 24));
        assertClose("avgPool 25x25", cpu.avgPool2x2Backward(pooled, 25, 25), host.avgPool2x2Backward(pooled, 25, 25));
    }

    private static float[] offset(float[] v, float by) {
        for (int i = 0; i < v.length; i++) {
            v[i] += by;
        }
        return v;
    }

    @Test
    void spatialAttentionBackward() {
        for (int[] shape : new int[][] {{2, 128, 12, 12}, {1, 64, 6, 6}, {3, 32, 4, 5}}) {
            Tensor q = random(1, shape);
            Tensor k = random(1, shape);
            Tensor v = random(1, shape);
            Tensor d = random(1, shape);
            SpatialAttentionGrads got = cpu.spatialAttentionBackward(q, k, v, d);
            SpatialAttentionGrads want = host.spatialAttentionBackward(q, k, v, d);
            String what = "attention " + java.util.Arrays.toString(shape);
            assertClose(what + " dQ", got.dQ(), want.dQ());
            assertClose(what + " dK", got.dK(), want.dK());
            assertClose(what + " dV", got.dV(), want.dV());
        }
    }
}
