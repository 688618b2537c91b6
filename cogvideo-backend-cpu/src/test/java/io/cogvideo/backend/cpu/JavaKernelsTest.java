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
            }
        } finally {
            threads.close();
        }
    }
}
