package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorisable exponential and GELU against double-precision references. */
class JavaKernelsTest {
    @Test
    void expNonPositiveIsWithinThreeTenthsOfAMillionthRelative() {
        int n = 200_003;
        float[] x = new float[n];
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < n; i++) {
            x[i] = i < 3 ? new float[] {0f, -0f, -1e-30f}[i] : (float) (-r.nextDouble() * 43);
        }
        float[] e = x.clone();
        JavaKernels.expNonPositive(e, n, new int[n], new float[n]);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double ref = Math.exp(x[i]);
            worst = Math.max(worst, Math.abs(e[i] - ref) / ref);
        }
        assertThat(worst).isLessThan(3e-7);
        assertThat(e[0]).isEqualTo(1f);
        float[] masked = {Float.NEGATIVE_INFINITY, -1000f};
        JavaKernels.expNonPositive(masked, 2, new int[2], new float[2]);
        assertThat(masked[0]).isBetween(0f, 3e-19f);
        assertThat(masked[1]).isBetween(0f, 3e-19f);
    }

    @Test
    void geluMatchesTheTanhFormula() {
        float[] x = new float[100_000];
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * (i % 2 == 0 ? 1 : 8));
        }
        x[0] = 0f;
        x[1] = 30f;
        x[2] = -30f;
        CpuThreads threads = new CpuThreads(2);
        try {
            float[] y = JavaKernels.gelu(x, threads);
            for (int i = 0; i < x.length; i++) {
                double v = x[i];
                double ref = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                assertThat((double) y[i]).as("gelu(%s)", x[i]).isCloseTo(ref,
                        org.assertj.core.data.Offset.offset(1e-6 * Math.max(1, Math.abs(ref))));
                if (v < -1 && v > -7) {
                    // the negative tail is tiny: check it relatively, against the same function in double written
                    // without cancellation (v e^{2u} / (1 + e^{2u}), u < 0); below about -7 the kernel's exp is clamped
                    double u = Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v);
                    double e2u = Math.exp(2 * u);
                    double stable = v * e2u / (1 + e2u);
                    // float32 rounding of u alone moves exp(2u) by about 2|u| ulps: the bound scales with that
                    assertThat(Math.abs(y[i] - stable)).as("relative error of gelu(%s)", x[i])
                            .isLessThanOrEqualTo(1e-6 * (1 + 2 * Math.abs(u)) * Math.abs(stable));
                }
            }
        } finally {
            threads.close();
        }
    }
}
