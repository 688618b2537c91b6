package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.cogvideo.CogVideoException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdamW} against values computed by hand with {@code torch.optim.AdamW}'s update rule (lr 1e-2, betas
 * 0.9/0.95, eps 1e-8, weight decay 0.1), clipping against {@code clip_grad_norm_}.
 */
class AdamWTest {
    private static final AdamWOptions OPTS = new AdamWOptions(1e-2, 0.9, 0.95, 1e-8, 0.1);
    private static final float[][] GRADS = {{0.1f, -0.2f, 0.3f}, {-0.05f, 0.4f, 0.0f}, {0.2f, 0.1f, -0.1f}};

    /**
     * Expected parameters after updates 1..3 from {@code p0 = [1, -0.5, 0.25]}, computed in float64.
     * Step 1 by hand: m = 0.1 g, v = 0.05 g^2, so m / (1 - 0.9) = g and sqrt(v / (1 - 0.95)) = |g|:
     * {@code p1 = p0 (1 - 1e-2 * 0.1) - 1e-2 * g / (|g| + 1e-8)}, e.g. {@code 0.999 - 0.0099999999 = 0.9890000001}.
     * Steps 2-3 follow the same formulas with bias corrections {@code 1 - 0.9^t}, {@code 1 - 0.95^t}.
     */
    private static final double[][] EXPECTED = {
        {0.9890000009999999, -0.4895000005, 0.23975000033333332},
        {0.9853273068602668, -0.4926442398902382, 0.2327237731889919},
        {0.9778545307019799, -0.4963242993364965, 0.22954036601984795},
    };

    @Test
    void matchesTorchAdamWForThreeSteps() {
        float[] p = {1f, -0.5f, 0.25f};
        Map<String, float[]> params = Map.of("w", p);
        AdamW adam = new AdamW(OPTS);
        for (int t = 0; t < 3; t++) {
            adam.step(params, Map.of("w", GRADS[t].clone()), OPTS.lr());
            for (int i = 0; i < 3; i++) {
                // float32 arithmetic vs the float64 reference: the float32 mirror of torch differs by < 1e-7 here
                assertThat((double) p[i]).as("step %d, element %d", t + 1, i).isCloseTo(EXPECTED[t][i], within(2e-7));
            }
        }
        assertThat(adam.stepCount()).isEqualTo(3);
    }

    @Test
    void stateRoundTripsThroughAFileAndContinuesIdentically(@TempDir Path dir) {
        float[] a = {1f, -0.5f, 0.25f};
        float[] b = a.clone();
        AdamW first = new AdamW(OPTS);
        first.step(Map.of("w", a), Map.of("w", GRADS[0].clone()), OPTS.lr());
        first.step(Map.of("w", a), Map.of("w", GRADS[1].clone()), OPTS.lr());
        first.state().write(dir.resolve("opt.safetensors"));
        OptimizerState read = OptimizerState.read(dir.resolve("opt.safetensors"));
        assertThat(read.step()).isEqualTo(2);
        assertThat(read.expAvg("w")).containsExactly(first.state().expAvg("w"));
        assertThat(read.expAvgSq("w")).containsExactly(first.state().expAvgSq("w"));

        AdamW uninterrupted = new AdamW(OPTS);
        uninterrupted.step(Map.of("w", b), Map.of("w", GRADS[0].clone()), OPTS.lr());
        uninterrupted.step(Map.of("w", b), Map.of("w", GRADS[1].clone()), OPTS.lr());
        uninterrupted.step(Map.of("w", b), Map.of("w", GRADS[2].clone()), OPTS.lr());
        new AdamW(OPTS, read).step(Map.of("w", a), Map.of("w", GRADS[2].clone()), OPTS.lr());
        assertThat(a).containsExactly(b);
    }

    @Test
    void clipsTheGlobalNormLikeClipGradNorm() {
        Map<String, float[]> g = new LinkedHashMap<>();
        g.put("a", new float[] {3f, 0f});
        g.put("b", new float[] {4f});
        double norm = AdamW.clipGlobalNorm(g, 0.1);
        assertThat(norm).isEqualTo(5.0);
        double coef = 0.1 / (5.0 + 1e-6);
        assertThat((double) g.get("a")[0]).isCloseTo(3 * coef, within(1e-7));
        assertThat((double) g.get("b")[0]).isCloseTo(4 * coef, within(1e-7));

        Map<String, float[]> small = new HashMap<>(Map.of("a", new float[] {0.01f}));
        assertThat(AdamW.clipGlobalNorm(small, 0.1)).isCloseTo(0.01, within(1e-9));
        assertThat(small.get("a")[0]).isEqualTo(0.01f);
        Map<String, float[]> off = new HashMap<>(Map.of("a", new float[] {30f}));
        AdamW.clipGlobalNorm(off, 0);
        assertThat(off.get("a")[0]).isEqualTo(30f);
    }

    @Test
    void originalDefaultsAndErrors() {
        assertThat(AdamWOptions.ORIGINAL).isEqualTo(new AdamWOptions(2e-4, 0.9, 0.95, 1e-8, 1e-4));
        assertThatThrownBy(() -> new AdamWOptions(2e-4, 1.0, 0.95, 1e-8, 0)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("beta1 = 1.0").hasMessageContaining("[0, 1)");
        AdamW adam = new AdamW(OPTS);
        assertThatThrownBy(() -> adam.step(Map.of("w", new float[2]), Map.of("w", new float[3]), 1e-3))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("'w' has 3 values");
        assertThatThrownBy(() -> adam.step(Map.of(), Map.of("x", new float[3]), 1e-3))
                .hasMessageContaining("'x' has no parameter");
    }
}
