package io.cogvideo.training;

import io.cogvideo.testkit.ReferenceBackend;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import io.cogvideo.spi.TrainingOps;
import io.cogvideo.spi.TrainingOps.Dropout;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The plain-Java training pack behind {@link CheckedBackend}: results equal the double kernels rounded to float32,
 * every argument is checked, the interpolation mask is refused by inference attention, and the training model
 * works end to end on a micro model (gradients only for the requested keys, seeded dropout, no leaked tensors).
 */
class HostTrainingOpsTest {
    private final CheckedBackend backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    private final TrainingOps ops = OpPacks.require(backend, TrainingOps.class, "tests");

    @AfterEach
    void close() {
        backend.close();
    }

    private Tensor random(Random r, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return backend.fromFloats(v, shape);
    }

    private double[] host(Tensor t) {
        return TrainingKernels.widen(backend.toFloats(t));
    }

    private static void assertFloatOf(float[] got, double[] want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("element %d", i).isEqualTo((float) want[i]);
        }
    }

    @Test
    void packResultsAreTheKernelsRoundedToFloat() {
        Random r = new Random(11);
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = random(r, 1, 5, 6);
            Tensor w = random(r, 4, 6);
            Tensor dy = random(r, 1, 5, 4);
            TrainingOps.LinearGrads lg = ops.linearBackward(x, w, dy, true, true);
            assertFloatOf(backend.toFloats(lg.dX()), TrainingKernels.linearBackwardX(host(dy), 5, 6, host(w), 4));
            assertFloatOf(backend.toFloats(lg.dWeight()), TrainingKernels.linearBackwardW(host(x), host(dy), 5, 6, 4));
            assertFloatOf(backend.toFloats(lg.dBias()), TrainingKernels.columnSums(host(dy), 5, 4));
            TrainingOps.LinearGrads frozen = ops.linearBackward(x, w, dy, false, true);
            assertThat(frozen.dWeight()).isNull();
            assertThat(frozen.dBias()).isNull();

            Tensor gamma = random(r, 6);
            Tensor dx6 = random(r, 1, 5, 6);
            TrainingOps.LayerNormGrads ln = ops.layerNormBackward(x, gamma, dx6, 1e-5f);
            double[][] k = TrainingKernels.layerNormBackward(host(x), 5, 6, host(gamma), 1e-5f, host(dx6));
            assertFloatOf(backend.toFloats(ln.dX()), k[0]);
            assertFloatOf(backend.toFloats(ln.dGamma()), k[1]);
            assertFloatOf(backend.toFloats(ln.dBeta()), k[2]);

            assertFloatOf(backend.toFloats(ops.geluBackward(x, dx6)), TrainingKernels.geluBackward(host(x), host(dx6)));

            Tensor plus = random(r, 1, 5, 6);
            TrainingOps.ChannelMixGrads cm = ops.channelMixBackward(x, plus, gamma, dx6);
            double[][] c = TrainingKernels.channelMixBackward(host(x), host(plus), host(gamma), 6, host(dx6));
            assertFloatOf(backend.toFloats(cm.dBase()), c[0]);
            assertFloatOf(backend.toFloats(cm.dPlus()), c[1]);
            assertFloatOf(backend.toFloats(cm.dMixLogits()), c[2]);

            int[] rows = {2, 0, 2, 1, 2};
            assertFloatOf(backend.toFloats(ops.gatherRowsBackward(dx6, rows, 3)),
                    TrainingKernels.gatherRowsBackward(host(dx6), 6, rows, 3));

            Dropout drop = new Dropout(0.4f, 5);
            assertFloatOf(backend.toFloats(ops.dropout(x, drop)), TrainingKernels.dropout(host(x), 0.4f, 5));
            assertThat(backend.toFloats(ops.dropout(x, Dropout.NONE))).isEqualTo(backend.toFloats(x));

            Tensor head = random(r, 7, 6);
            int[] labels = {1, 6, 0, 3, 3};
            float[] weights = {0.1f, 0f, 0.5f, 0.25f, 0.15f};
            TrainingOps.CrossEntropy ce = ops.crossEntropy(x, head, labels, weights);
            double[] losses = new double[5];
            double[] dxk = new double[30];
            double[] dh = new double[42];
            TrainingKernels.crossEntropy(host(x), 5, 6, host(head), 7, labels,
                    new double[] {0.1f, 0f, 0.5f, 0.25f, 0.15f}, losses, dxk, dh);
            assertThat(ce.losses()).isEqualTo(losses);
            assertFloatOf(backend.toFloats(ce.dX()), dxk);
            assertFloatOf(backend.toFloats(ce.dHead()), dh);
        }
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    @Test
    void attentionThroughThePackMatchesTheKernelsAndInferenceAttention() {
        Random r = new Random(12);
        int heads = 2;
        int n = 3 + 2 * 16;
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = random(r, 1, n, 6);
            Tensor k = random(r, 1, n, 6);
            Tensor v = random(r, 1, n, 6);
            AttentionMask m = AttentionMask.spatialTraining(heads, 3, 1, 4);
            TrainingOps.AttentionForward f = ops.attentionForward(q, k, v, m, Dropout.NONE);
            assertThat(f.logSumExp().shape()).containsExactly(1, heads, n);
            // no dropout: the training forward is the inference attention
            Tensor inf = OpPacks.require(backend, FusedAttention.class, "tests").attention(q, k, v, n, m);
            assertThat(backend.toFloats(f.out())).isEqualTo(backend.toFloats(inf));
            Tensor dOut = random(r, 1, n, 6);
            TrainingOps.AttentionGrads g = ops.attentionBackward(q, k, v, m, Dropout.NONE, f, dOut);
            assertThat(g.dQ().shape()).containsExactly(1, n, 6);
            assertThat(g.dK().shape()).containsExactly(1, n, 6);
            // wrong log-sum-exp shape
            TrainingOps.AttentionForward bad = new TrainingOps.AttentionForward(f.out(), random(r, 1, heads, n - 1));
            assertThatThrownBy(() -> ops.attentionBackward(q, k, v, m, Dropout.NONE, bad, dOut))
                    .isInstanceOf(CogVideoException.class).hasMessageContaining("logSumExp");
        }
    }

    @Test
    void inferenceAttentionRefusesTheInterpolationMask() {
        Random r = new Random(13);
        try (TensorScope scope = TensorScope.open()) {
            int n = 3 + 5 * 16;
            Tensor q = random(r, 1, n, 4);
            AttentionMask interp = AttentionMask.spatialInterpTraining(2, 3, 0, 4);
            assertThatThrownBy(() -> OpPacks.require(backend, FusedAttention.class, "tests").attention(q, q, q, n,
                    interp)).isInstanceOf(CogVideoException.class).hasMessageContaining("interpolation")
                    .hasMessageContaining("TrainingOps");
            assertThat(ops.attentionForward(q, q, q, interp, Dropout.NONE).out().shape()).containsExactly(1, n, 4);
        }
    }

    @Test
    void everyArgumentIsChecked() {
        Random r = new Random(14);
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = random(r, 1, 5, 6);
            Tensor w = random(r, 4, 6);
            assertThatThrownBy(() -> ops.linearBackward(x, w, random(r, 1, 5, 3), true, true))
                    .isInstanceOf(CogVideoException.class).hasMessageContaining("linearBackward")
                    .hasMessageContaining("dY [1, 5, 3] must be [1, 5, 4]");
            assertThatThrownBy(() -> ops.layerNormBackward(x, random(r, 5), x, 1e-5f))
                    .hasMessageContaining("gamma must be a vector of 6");
            assertThatThrownBy(() -> ops.geluBackward(x, random(r, 1, 4, 6))).hasMessageContaining("same shape");
            assertThatThrownBy(() -> ops.gatherRowsBackward(x, new int[] {0, 1, 2, 3, 9}, 9))
                    .hasMessageContaining("row 9 at index 4 outside [0, 9)");
            assertThatThrownBy(() -> ops.gatherRowsBackward(x, new int[] {0, 1}, 9))
                    .hasMessageContaining("2 rows for dOut");
            assertThatThrownBy(() -> ops.crossEntropy(x, random(r, 7, 6), new int[] {0, 1, 2, 3, 7},
                    new float[5])).hasMessageContaining("label 7 at index 4 outside the head's [0, 7)");
            assertThatThrownBy(() -> ops.crossEntropy(x, random(r, 7, 6), new int[5],
                    new float[] {0, 0, Float.NaN, 0, 0})).hasMessageContaining("not finite");
            assertThatThrownBy(() -> ops.channelMixBackward(x, x, random(r, 5), x))
                    .hasMessageContaining("mixLogits must be a vector of 6");
            AttentionMask m = AttentionMask.spatialTraining(4, 3, 0, 2);
            assertThatThrownBy(() -> ops.attentionForward(x, x, x, m, Dropout.NONE))
                    .hasMessageContaining("width 6 is not a multiple of 4 heads");
            assertThatThrownBy(() -> ops.attentionForward(x, x, x, AttentionMask.spatialTraining(2, 3, 0, 2), null))
                    .hasMessageContaining("Dropout.NONE");
            assertThatThrownBy(() -> new Dropout(1f, 0)).hasMessageContaining("[0, 1)");
            Tensor closed = random(r, 1, 5, 6);
            closed.close();
            assertThatThrownBy(() -> ops.geluBackward(closed, x)).hasMessageContaining("is closed");
        }
    }

    @Test
    void aBackendWithoutThePackFailsWithAClearMessage() {
        CheckedBackend plain = CheckedBackend.wrap(ReferenceBackend.without(io.cogvideo.spi.TrainingOps.class));
        CogVideoModel model = MicroModels.model(plain, 1);
        assertThat(OpPacks.has(plain, TrainingOps.class)).isFalse();
        assertThatThrownBy(() -> new CogVideoTraining(model, CogVideoTraining.Options.defaults()))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("does not provide the TrainingOps op pack")
                .hasMessageContaining("training the CogVideo transformer");
    }

    @Test
    void trainingComputesOnlyRequestedGradientsDeterministicallyAndLeaksNothing() {
        CogVideoModel model = MicroModels.model(backend, 2);
        CogVideoTraining t = new CogVideoTraining(model, CogVideoTraining.Options.defaults());
        List<TrainingExample> rows = List.of(MicroModels.row(1, 1, 3), MicroModels.row(1, 0, 4));
        long before = backend.liveTemporaries();
        Set<String> plusKeys = CogVideoTraining.plusChannelKeys(model.config());
        CogVideoTraining.Result a = t.lossAndGradients(rows, plusKeys);
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isEqualTo(before);
        assertThat(a.gradients().keySet()).isEqualTo(plusKeys);
        assertThat(a.lossMaskSum()).isEqualTo(2 * 4 * 16);
        assertThat(a.loss()).isFinite().isPositive();
        assertThat(a.loggedFrameLosses()).containsOnlyKeys("AR_f0_loss", "AR_f1_loss", "AR_f2_loss", "AR_f3_loss",
                "AR_f4_loss");
        CogVideoTraining.Result b = t.lossAndGradients(rows, plusKeys);
        assertThat(b.loss()).isEqualTo(a.loss());
        for (String k : plusKeys) {
            assertThat(b.gradients().get(k)).as(k).isEqualTo(a.gradients().get(k));
            assertThat(a.gradients().get(k)).hasSize(
                    (int) io.cogvideo.spi.TensorData.numel(CogVideoTraining.parameterShapes(model.config()).get(k)));
        }
        // the full set contains the plus-channel gradients unchanged
        CogVideoTraining.Result all = t.lossAndGradients(rows,
                CogVideoTraining.parameterShapes(model.config()).keySet());
        for (String k : plusKeys) {
            assertThat(all.gradients().get(k)).as(k).isEqualTo(a.gradients().get(k));
        }
        assertThatThrownBy(() -> t.lossAndGradients(rows, Set.of("transformer.nope")))
                .hasMessageContaining("unknown parameter 'transformer.nope'");
        assertThatThrownBy(() -> t.lossAndGradients(List.of(MicroModels.row(1, 0, 1), MicroModels.row(2, 0, 1)),
                plusKeys)).hasMessageContaining("a batch has one stage");
    }

    @Test
    void dropoutIsSeededAndOffByDefault() {
        CogVideoModel model = MicroModels.model(backend, 5);
        List<TrainingExample> rows = List.of(MicroModels.row(2, 2, 6));
        Set<String> keys = CogVideoTraining.plusChannelKeys(model.config());
        CogVideoTraining plain = new CogVideoTraining(model, new CogVideoTraining.Options(2, 0f, 0f, 0));
        CogVideoTraining dropping = new CogVideoTraining(model, new CogVideoTraining.Options(2, 0.1f, 0.1f, 0));
        CogVideoTraining.Result none = plain.lossAndGradients(rows, keys);
        CogVideoTraining.Result s1 = dropping.lossAndGradients(rows, keys, 1);
        CogVideoTraining.Result s1again = dropping.lossAndGradients(rows, keys, 1);
        CogVideoTraining.Result s2 = dropping.lossAndGradients(rows, keys, 2);
        assertThat(s1.loss()).isEqualTo(s1again.loss()).isNotEqualTo(none.loss()).isNotEqualTo(s2.loss());
        assertThat(s1.gradients().get("mixins.attention_plus.dense.1.weight"))
                .isEqualTo(s1again.gradients().get("mixins.attention_plus.dense.1.weight"));
        assertThat(s1.loggedFrameLosses()).containsOnlyKeys("ITP_f1_loss", "ITP_f2_loss", "ITP_f3_loss");
        Map<String, float[]> g = none.gradients();
        assertThat(g.get("mixins.attention_plus.attn_distribution.0")).isNotNull();
    }
}
