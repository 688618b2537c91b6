package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.VqVaeTrainingOps;
import io.cogvideo.spi.VqVaeTrainingOps.Conv2dGrads;
import io.cogvideo.spi.VqVaeTrainingOps.GroupNormGrads;
import io.cogvideo.spi.VqVaeTrainingOps.SpatialAttentionGrads;
import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.training.VqVaeTrainingKernels.ConvShape;
import java.util.Random;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link HostVqVaeTrainingOps} as a model sees it, through {@link CheckedBackend} over the {@link ReferenceBackend}:
 * the double forwards of {@link VqVaeTrainingKernels} (whose backwards {@code VqVaeTrainingKernelsGradientTest}
 * checks by finite differences) are the SPI's {@link VqVaeOps}; every pack method returns the kernels' gradients
 * rounded to float32, with the shapes and nulls its javadoc promises, and leaves no live temporary; and the checking
 * layer rejects wrong ranks and mismatched shapes with messages that name the argument.
 */
class HostVqVaeTrainingOpsTest {
    private final CheckedBackend backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    private final VqVaeOps ops = OpPacks.require(backend, VqVaeOps.class, "the test");
    private final VqVaeTrainingOps pack = OpPacks.require(backend, VqVaeTrainingOps.class, "the test");
    private final Random random = new Random(17);

    @AfterEach
    void noLeaks() {
        try {
            assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
        } finally {
            backend.close();
        }
    }

    private double[] values(int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (random.nextGaussian() * scale); // float32-representable: host and device agree exactly
        }
        return a;
    }

    private Tensor tensor(double[] v, int... shape) {
        return backend.fromFloats(TrainingKernels.narrow(v), shape);
    }

    /** {@code got} equals {@code want} rounded to float32, up to a few float32 ulps. */
    private void assertClose(String what, Tensor got, double[] want, int... shape) {
        assertThat(got).as(what).isNotNull();
        assertThat(got.shape()).as(what + " shape").containsExactly(shape);
        float[] g = backend.toFloats(got);
        assertThat(g).as(what + " size").hasSize(want.length);
        double max = 0;
        for (double w : want) {
            max = Math.max(max, Math.abs(w));
        }
        assertThat(max).as(what + " is not all zero").isGreaterThan(0);
        for (int i = 0; i < want.length; i++) {
            assertThat((double) g[i]).as("%s[%d]", what, i).isCloseTo(want[i],
                    org.assertj.core.data.Offset.offset(1e-5 * max + 1e-30));
        }
    }

    private static void fails(ThrowingCallable call, String message) {
        assertThatThrownBy(call).isExactlyInstanceOf(CogVideoException.class).hasMessage(message);
    }

    @Test
    void forwardKernelsAreTheSpiOperations() {
        try (TensorScope scope = TensorScope.open()) {
            ConvShape s = new ConvShape(2, 3, 7, 6, 4, 3, 3, 2, 0, 1, 0, 1);
            double[] x = values(2 * 3 * 7 * 6, 1);
            double[] w = values(4 * 3 * 9, 0.5);
            double[] b = values(4, 0.5);
            assertClose("conv2d", ops.conv2d(tensor(x, 2, 3, 7, 6), tensor(w, 4, 3, 3, 3), tensor(b, 4), 2, 0, 1, 0,
                    1), VqVaeTrainingKernels.conv2d(x, w, b, s), 2, 4, s.ho(), s.wo());
            double[] gamma = values(4, 1);
            double[] beta = values(4, 1);
            double[] y = values(2 * 4 * 5 * 3, 2);
            Tensor yt = tensor(y, 2, 4, 5, 3);
            assertClose("groupNorm", ops.groupNorm(yt, 2, tensor(gamma, 4), tensor(beta, 4), 1e-6f),
                    VqVaeTrainingKernels.groupNorm(y, 2, 4, 15, 2, gamma, beta, 1e-6f), 2, 4, 5, 3);
            assertClose("swish", ops.swish(yt), VqVaeTrainingKernels.swish(y), 2, 4, 5, 3);
            assertClose("upsample", ops.upsampleNearest2x(yt), VqVaeTrainingKernels.upsampleNearest2x(y, 8, 5, 3),
                    2, 4, 10, 6);
            assertClose("avgPool", ops.avgPool2x2(yt), VqVaeTrainingKernels.avgPool2x2(y, 8, 5, 3), 2, 4, 2, 1);
            double[] q = values(2 * 4 * 15, 1);
            double[] k = values(2 * 4 * 15, 1);
            assertClose("spatialAttention", ops.spatialAttention(tensor(q, 2, 4, 5, 3), tensor(k, 2, 4, 5, 3), yt),
                    VqVaeTrainingKernels.spatialAttention(q, k, y, 2, 4, 15), 2, 4, 5, 3);
        }
    }

    @Test
    void packReturnsTheKernelsGradients() {
        try (TensorScope scope = TensorScope.open()) {
            ConvShape s = new ConvShape(2, 4, 7, 6, 3, 3, 3, 2, 0, 1, 0, 1);
            double[] x = values(2 * 4 * 7 * 6, 1);
            double[] w = values(3 * 4 * 9, 0.5);
            double[] dy = values(2 * 3 * s.ho() * s.wo(), 1);
            Tensor xt = tensor(x, 2, 4, 7, 6);
            Tensor wt = tensor(w, 3, 4, 3, 3);
            Tensor dyt = tensor(dy, 2, 3, s.ho(), s.wo());
            Conv2dGrads g = pack.conv2dBackward(xt, wt, dyt, 2, 0, 1, 0, 1, true, true);
            assertClose("conv dX", g.dX(), VqVaeTrainingKernels.conv2dBackwardX(dy, w, s), 2, 4, 7, 6);
            assertClose("conv dW", g.dWeight(), VqVaeTrainingKernels.conv2dBackwardW(x, dy, s), 3, 4, 3, 3);
            assertClose("conv dBias", g.dBias(), VqVaeTrainingKernels.channelSums(dy, 2, 3, s.ho() * s.wo()), 3);
            Conv2dGrads first = pack.conv2dBackward(xt, wt, dyt, 2, 0, 1, 0, 1, false, false);
            assertThat(first.dX()).as("dX not asked for").isNull();
            assertThat(first.dBias()).as("no bias").isNull();
            assertClose("conv dW (first layer)", first.dWeight(), VqVaeTrainingKernels.conv2dBackwardW(x, dy, s), 3,
                    4, 3, 3);

            double[] gamma = values(4, 1);
            double[] dn = values(x.length, 1);
            GroupNormGrads gg = pack.groupNormBackward(xt, 2, tensor(gamma, 4), tensor(dn, 2, 4, 7, 6), 1e-6f);
            double[][] want = VqVaeTrainingKernels.groupNormBackward(x, 2, 4, 42, 2, gamma, 1e-6f, dn);
            assertClose("groupNorm dX", gg.dX(), want[0], 2, 4, 7, 6);
            assertClose("groupNorm dGamma", gg.dGamma(), want[1], 4);
            assertClose("groupNorm dBeta", gg.dBeta(), want[2], 4);

            double[] d = values(x.length, 1);
            assertClose("swish", pack.swishBackward(xt, tensor(d, 2, 4, 7, 6)),
                    VqVaeTrainingKernels.swishBackward(x, d), 2, 4, 7, 6);
            double[] up = values(2 * 4 * 14 * 12, 1);
            assertClose("upsample", pack.upsampleNearest2xBackward(tensor(up, 2, 4, 14, 12)),
                    VqVaeTrainingKernels.upsampleNearest2xBackward(up, 8, 7, 6), 2, 4, 7, 6);
            double[] pooled = values(2 * 4 * 3 * 3, 1);
            assertClose("avgPool", pack.avgPool2x2Backward(tensor(pooled, 2, 4, 3, 3), 7, 6),
                    VqVaeTrainingKernels.avgPool2x2Backward(pooled, 8, 7, 6), 2, 4, 7, 6);

            double[] q = values(x.length, 1);
            double[] k = values(x.length, 1);
            double[] dOut = values(x.length, 1);
            SpatialAttentionGrads ag = pack.spatialAttentionBackward(tensor(q, 2, 4, 7, 6), tensor(k, 2, 4, 7, 6), xt,
                    tensor(dOut, 2, 4, 7, 6));
            double[][] wantA = VqVaeTrainingKernels.spatialAttentionBackward(q, k, x, dOut, 2, 4, 42);
            assertClose("attention dQ", ag.dQ(), wantA[0], 2, 4, 7, 6);
            assertClose("attention dK", ag.dK(), wantA[1], 2, 4, 7, 6);
            assertClose("attention dV", ag.dV(), wantA[2], 2, 4, 7, 6);
        }
    }

    @Test
    void checkingLayerRejectsBadArguments() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = tensor(new double[2 * 4 * 6 * 6], 2, 4, 6, 6);
            Tensor w = tensor(new double[3 * 4 * 9], 3, 4, 3, 3);
            Tensor dy = tensor(new double[2 * 3 * 3 * 3], 2, 3, 3, 3);
            Tensor flat = tensor(new double[4], 4);
            fails(() -> pack.conv2dBackward(flat, w, dy, 2, 0, 1, 0, 1, true, true),
                    "conv2dBackward: x must have rank 4, got [4]");
            fails(() -> pack.conv2dBackward(x, flat, dy, 2, 0, 1, 0, 1, true, true),
                    "conv2dBackward: weight must have rank 4, got [4]");
            fails(() -> pack.conv2dBackward(x, w, x, 2, 0, 1, 0, 1, true, true),
                    "conv2dBackward: dY [2, 4, 6, 6] must be [2, 3, 3, 3], the output of x [2, 4, 6, 6] and weight"
                            + " [3, 4, 3, 3] at stride 2, padding 0/1/0/1");
            fails(() -> pack.conv2dBackward(x, w, dy, 1, 0, 1, 0, 1, true, true),
                    "conv2dBackward: dY [2, 3, 3, 3] must be [2, 3, 5, 5], the output of x [2, 4, 6, 6] and weight"
                            + " [3, 4, 3, 3] at stride 1, padding 0/1/0/1");
            Tensor w2 = tensor(new double[3 * 2 * 9], 3, 2, 3, 3);
            fails(() -> pack.conv2dBackward(x, w2, dy, 2, 0, 1, 0, 1, true, true),
                    "conv2dBackward: x [2, 4, 6, 6] has 4 channels but weight [3, 2, 3, 3] takes 2");
            fails(() -> pack.conv2dBackward(x, w, dy, 0, 0, 1, 0, 1, true, true),
                    "conv2dBackward: stride must be >= 1 and padding >= 0, got stride 0, padding 0/1/0/1");
            Tensor gamma = tensor(new double[4], 4);
            fails(() -> pack.groupNormBackward(x, 3, gamma, x, 1e-6f),
                    "groupNormBackward: 4 channels cannot be split into 3 groups");
            fails(() -> pack.groupNormBackward(x, 2, flat, dy, 1e-6f),
                    "groupNormBackward: x [2, 4, 6, 6] and dY [2, 3, 3, 3] must have the same shape");
            fails(() -> pack.groupNormBackward(x, 2, w, x, 1e-6f),
                    "groupNormBackward: gamma must be a vector of 4, got [3, 4, 3, 3]");
            fails(() -> pack.groupNormBackward(x, 2, gamma, x, 0f),
                    "groupNormBackward: eps must be a positive finite number, got 0.0");
            fails(() -> pack.swishBackward(x, dy),
                    "swishBackward: x [2, 4, 6, 6] and dY [2, 3, 3, 3] must have the same shape");
            fails(() -> pack.upsampleNearest2xBackward(flat), "upsampleNearest2xBackward: dY must have rank 4, got [4]");
            fails(() -> pack.upsampleNearest2xBackward(dy), "upsampleNearest2xBackward: dY [2, 3, 3, 3] must have an"
                    + " even height and width (the output of a 2x up-sampling)");
            fails(() -> pack.avgPool2x2Backward(dy, 8, 7), "avgPool2x2Backward: dY [2, 3, 3, 3] is not the pooled"
                    + " gradient of a 8x7 input (need height, width >= 2 and dY [.., .., 4, 3])");
            fails(() -> pack.spatialAttentionBackward(x, x, dy, x),
                    "spatialAttentionBackward: q [2, 4, 6, 6] and v [2, 3, 3, 3] must have the same shape");
            fails(() -> pack.spatialAttentionBackward(x, x, x, dy),
                    "spatialAttentionBackward: q [2, 4, 6, 6] and dOut [2, 3, 3, 3] must have the same shape");
            fails(() -> pack.spatialAttentionBackward(flat, flat, flat, flat),
                    "spatialAttentionBackward: q must have rank 4, got [4]");
            x.close();
            fails(() -> pack.swishBackward(x, x), "swishBackward: x [2, 4, 6, 6] is closed");
        }
    }
}
