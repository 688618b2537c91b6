package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.AttentionMask.Scope;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.TrainingOps;
import io.cogvideo.spi.TrainingOps.Dropout;
import io.cogvideo.spi.WeightUse;
import io.cogvideo.training.HostTrainingOps;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU backend's float32 training pack ({@link CpuTrainingOps}) against the double-precision plain-Java pack
 * ({@link HostTrainingOps}, itself checked by finite differences in {@code TrainingKernelsGradientTest}) over the same
 * raw backend: every op, and attention forward and backward on every mask kind (training masks with the
 * interpolation pattern, inference masks, text boost, pads, one-query steps, dropout), batch 2, with blocks of
 * several groups. Agreement is the golden gradient rule: max abs error {@code <= 1e-4 * max|reference| + 1e-8}.
 */
class CpuTrainingOpsTest {
    private final CpuBackend backend = new CpuBackend(new BackendOptions(2, DType.FLOAT32));
    private final TrainingOps cpu = backend.find(TrainingOps.class).orElseThrow();
    private final TrainingOps host = new HostTrainingOps(backend);

    @AfterEach
    void close() {
        backend.close();
    }

    private Tensor random(Random r, int... shape) {
        float[] v = new float[(int) TensorData.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return backend.fromFloats(v, shape);
    }

    private void assertClose(String what, Tensor got, Tensor want) {
        assertThat(got.shape()).as(what + " shape").containsExactly(want.shape());
        assertClose(what, backend.toFloats(got), backend.toFloats(want));
    }

    private static void assertClose(String what, float[] got, float[] want) {
        assertThat(got).as(what + " size").hasSameSizeAs(want);
        double max = 0;
        double err = 0;
        int worst = -1;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            double e = Math.abs((double) got[i] - want[i]);
            if (!(e <= err)) {
                err = e;
                worst = i;
            }
        }
        assertThat(err).as("%s: max abs error at %d (got %s, want %s), max|want| %s", what, worst,
                worst < 0 ? null : got[worst], worst < 0 ? null : want[worst], max)
                .isLessThanOrEqualTo(1e-4 * max + 1e-8);
    }

    @Test
    void denseOpsMatchTheHostPack() {
        Random r = new Random(21);
        int n = 300;
        Tensor x = random(r, 1, n, 48);
        Tensor dy = random(r, 1, n, 40);
        Tensor w = random(r, 40, 48);
        // the same weight uploaded as a linear weight (stored transposed)
        Tensor wLinear = backend.upload(TensorData.ofFloats("w", backend.toFloats(w), 40, 48), WeightUse.LINEAR);
        for (Tensor weight : List.of(w, wLinear)) {
            TrainingOps.LinearGrads a = cpu.linearBackward(x, weight, dy, true, true);
            TrainingOps.LinearGrads b = host.linearBackward(x, weight, dy, true, true);
            assertClose("linear dX", a.dX(), b.dX());
            assertClose("linear dW", a.dWeight(), b.dWeight());
            assertClose("linear db", a.dBias(), b.dBias());
            TrainingOps.LinearGrads frozen = cpu.linearBackward(x, weight, dy, false, true);
            assertClose("frozen linear dX", frozen.dX(), b.dX());
            assertThat(frozen.dWeight()).isNull();
            assertThat(frozen.dBias()).isNull();
        }
        Tensor gamma = random(r, 48);
        Tensor dx = random(r, 1, n, 48);
        TrainingOps.LayerNormGrads la = cpu.layerNormBackward(x, gamma, dx, 1e-5f);
        TrainingOps.LayerNormGrads lb = host.layerNormBackward(x, gamma, dx, 1e-5f);
        assertClose("layerNorm dX", la.dX(), lb.dX());
        assertClose("layerNorm dGamma", la.dGamma(), lb.dGamma());
        assertClose("layerNorm dBeta", la.dBeta(), lb.dBeta());
        assertClose("gelu", cpu.geluBackward(x, dx), host.geluBackward(x, dx));
        Tensor plus = random(r, 1, n, 48);
        TrainingOps.ChannelMixGrads ma = cpu.channelMixBackward(x, plus, gamma, dx);
        TrainingOps.ChannelMixGrads mb = host.channelMixBackward(x, plus, gamma, dx);
        assertClose("mix dBase", ma.dBase(), mb.dBase());
        assertClose("mix dPlus", ma.dPlus(), mb.dPlus());
        assertClose("mix dLogits", ma.dMixLogits(), mb.dMixLogits());
        int[] rows = new int[n];
        for (int i = 0; i < n; i++) {
            rows[i] = r.nextInt(50);
        }
        assertClose("gatherRows backward", cpu.gatherRowsBackward(dx, rows, 50), host.gatherRowsBackward(dx, rows,
                50));
        Dropout drop = new Dropout(0.3f, 99);
        assertThat(backend.toFloats(cpu.dropout(x, drop))).isEqualTo(backend.toFloats(host.dropout(x, drop)));
        assertThat(backend.toFloats(cpu.dropout(x, Dropout.NONE))).isEqualTo(backend.toFloats(x));
    }

    @Test
    void crossEntropyMatchesTheHostPack() {
        Random r = new Random(22);
        int n = 600; // three blocks of rows
        int h = 32;
        int vocab = 1000;
        Tensor x = random(r, 1, n, h);
        Tensor head = random(r, vocab, h);
        int[] labels = new int[n];
        float[] weights = new float[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(vocab);
            weights[i] = i < 100 || (i >= 256 && i < 512) ? 0f : 1f / n; // whole blocks of weight 0 too
        }
        TrainingOps.CrossEntropy a = cpu.crossEntropy(x, head, labels, weights);
        TrainingOps.CrossEntropy b = host.crossEntropy(x, head, labels, weights);
        for (int i = 0; i < n; i++) {
            assertThat(a.losses()[i]).as("loss %d", i).isCloseTo(b.losses()[i],
                    org.assertj.core.data.Offset.offset(1e-5 * Math.abs(b.losses()[i])));
        }
        assertClose("cross-entropy dX", a.dX(), b.dX());
        assertClose("cross-entropy dHead", a.dHead(), b.dHead());
    }

    /** A mask kind with its query and key row counts. */
    record Kind(String name, AttentionMask mask, int nq, int nk, float dropout) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> maskKinds() {
        List<Kind> k = new ArrayList<>();
        int heads = 2;
        int t = 3;
        for (int grid : new int[] {4, 8}) {
            int l = grid * grid;
            int all = t + 5 * l;
            int frames = 5 * l;
            int win = grid / 2;
            String g = " (grid " + grid + ")";
            k.add(new Kind("spatial training" + g, AttentionMask.spatialTraining(heads, t, 1, grid), all, all, 0));
            k.add(new Kind("spatial interp training" + g, AttentionMask.spatialInterpTraining(heads, t, 1, grid),
                    all, all, 0));
            k.add(new Kind("stage-1 plus training" + g, AttentionMask.stage1PlusTraining(heads, t, 1, grid), frames,
                    all, 0));
            k.add(new Kind("stage-2 window training, unshifted" + g,
                    AttentionMask.stage2WindowTraining(heads, t, 1, grid, win, false), frames, all, 0));
            k.add(new Kind("stage-2 window training, shifted" + g,
                    AttentionMask.stage2WindowTraining(heads, t, 1, grid, win, true), frames, all, 0));
            k.add(new Kind("stage-2 window prefill, shifted with wrap" + g,
                    AttentionMask.stage2WindowPrefill(heads, t, grid, win, true), 3 * l, t + 3 * l, 0));
            k.add(new Kind("window causal, shifted, text boost" + g,
                    new AttentionMask(heads, t, 0, 0.7f, false, 0, 0, l, grid, Scope.WINDOW, true, win, win / 2,
                            false), frames, all, 0));
            k.add(new Kind("spatial prefill, text boost" + g, AttentionMask.spatialPrefill(heads, t, grid, 1.3f,
                    true), all, all, 0));
            k.add(new Kind("super-resolution base" + g, AttentionMask.superResolutionBase(heads, t, 2, grid), t + l,
                    t + l, 0));
            k.add(new Kind("stage-1 plus step at 37" + g, AttentionMask.stage1PlusStep(heads, t, grid, 0.9f, 37), 1,
                    t + 38, 0));
            k.add(new Kind("stage-2 window training, shifted, dropout 0.3" + g,
                    AttentionMask.stage2WindowTraining(heads, t, 1, grid, win, true), frames, all, 0.3f));
            k.add(new Kind("stage-1 plus training, dropout 0.5" + g,
                    AttentionMask.stage1PlusTraining(heads, t, 1, grid), frames, all, 0.5f));
        }
        return k.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("maskKinds")
    void attentionMatchesTheHostPackOnEveryMaskKind(Kind kind) {
        Random r = new Random(kind.name().hashCode());
        int width = kind.mask().heads() * 8;
        int batch = 2;
        Tensor q = random(r, batch, kind.nq(), width);
        Tensor k = random(r, batch, kind.nk(), width);
        Tensor v = random(r, batch, kind.nk(), width);
        Tensor dOut = random(r, batch, kind.nq(), width);
        Dropout drop = kind.dropout() > 0 ? new Dropout(kind.dropout(), 777) : Dropout.NONE;
        TrainingOps.AttentionForward fa = cpu.attentionForward(q, k, v, kind.mask(), drop);
        TrainingOps.AttentionForward fb = host.attentionForward(q, k, v, kind.mask(), drop);
        assertClose(kind + " out", fa.out(), fb.out());
        float[] la = backend.toFloats(fa.logSumExp());
        float[] lb = backend.toFloats(fb.logSumExp());
        for (int i = 0; i < lb.length; i++) {
            if (Float.isInfinite(lb[i])) {
                assertThat(la[i]).as("lse %d", i).isEqualTo(lb[i]);
            } else {
                assertThat(la[i]).as("lse %d", i).isCloseTo(lb[i], org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
        TrainingOps.AttentionGrads ga = cpu.attentionBackward(q, k, v, kind.mask(), drop, fa, dOut);
        TrainingOps.AttentionGrads gb = host.attentionBackward(q, k, v, kind.mask(), drop, fb, dOut);
        assertClose(kind + " dQ", ga.dQ(), gb.dQ());
        assertClose(kind + " dK", ga.dK(), gb.dK());
        assertClose(kind + " dV", ga.dV(), gb.dV());
        // a second call reuses the cached plan and gives the same bits
        TrainingOps.AttentionForward again = cpu.attentionForward(q, k, v, kind.mask(), drop);
        assertThat(backend.toFloats(again.out())).isEqualTo(backend.toFloats(fa.out()));
    }
}
