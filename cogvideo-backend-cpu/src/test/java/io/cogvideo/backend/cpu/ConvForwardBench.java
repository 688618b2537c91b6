package io.cogvideo.backend.cpu;

import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.VqVaeOps;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A/B speed of the CPU forward conv2d on 2 threads at the demo VQ-VAE's training shapes: A the former per-sample
 * im2col + GEMM ({@link PerSampleConv2d}), B the block-of-samples path of {@link CpuImageOps}. Interleaved rounds
 * (A then B, so both see the same load on a shared machine), each the median of {@value #RUNS} runs after
 * {@value #WARMUP} warm-ups; prints per-round GFLOP/s ({@code 2·N·O·C·kh·kw·Ho·Wo} flops) and the median over
 * rounds. A benchmark, not a timed test: it asserts nothing. Runs only with {@code -Dcogvideo.bench.convfwd=true}.
 */
class ConvForwardBench {
    private static final int WARMUP = 2;
    private static final int RUNS = 5;
    private static final int ROUNDS = 5;

    @Test
    @EnabledIfSystemProperty(named = "cogvideo.bench.convfwd", matches = "true")
    void forwardGflops() {
        CpuBackend backend = new CpuBackend(new BackendOptions(2, DType.FLOAT32));
        try {
            VqVaeOps fwd = backend.find(VqVaeOps.class).orElseThrow();
            // {n, c, h, w, o, k, stride, padTop, padBottom, padLeft, padRight}
            int[][] shapes = {{8, 32, 48, 48, 32, 3, 1, 1, 1, 1, 1}, {8, 64, 24, 24, 64, 3, 1, 1, 1, 1, 1},
                {8, 128, 12, 12, 128, 3, 1, 1, 1, 1, 1}, {8, 32, 48, 48, 32, 3, 2, 0, 1, 0, 1},
                {8, 64, 24, 24, 64, 3, 2, 0, 1, 0, 1}, {8, 32, 48, 48, 64, 1, 1, 0, 0, 0, 0},
                {8, 128, 12, 12, 128, 1, 1, 0, 0, 0, 0}};
            for (int[] s : shapes) {
                int n = s[0];
                int c = s[1];
                int h = s[2];
                int w = s[3];
                int o = s[4];
                int k = s[5];
                int stride = s[6];
                Random r = new Random(1);
                float[] xv = random(r, n * c * h * w);
                float[] wv = random(r, o * c * k * k);
                float[] bv = random(r, o);
                int[] xs = {n, c, h, w};
                int[] ws = {o, c, k, k};
                int ho = (h + s[7] + s[8] - k) / stride + 1;
                int wo = (w + s[9] + s[10] - k) / stride + 1;
                double flops = 2.0 * n * o * c * k * k * ho * wo;
                try (Tensor x = backend.fromFloats(xv, xs);
                        Tensor weight = backend.fromFloats(wv, ws);
                        Tensor bias = backend.fromFloats(bv, o)) {
                    Runnable a = () -> {
                        Blas.useThreads(2);
                        PerSampleConv2d.conv2d(xv, xs, wv, ws, bv, stride, s[7], s[8], s[9], s[10]);
                    };
                    Runnable b = () -> fwd.conv2d(x, weight, bias, stride, s[7], s[8], s[9], s[10]).close();
                    double[] ga = new double[ROUNDS];
                    double[] gb = new double[ROUNDS];
                    for (int round = 0; round < ROUNDS; round++) {
                        ga[round] = flops / median(a) / 1e9;
                        gb[round] = flops / median(b) / 1e9;
                    }
                    String what = String.format(Locale.ROOT, "conv fwd %s %dx%d %d->%d s%d pad(%d,%d,%d,%d)",
                            Arrays.toString(xs), k, k, c, o, stride, s[7], s[8], s[9], s[10]);
                    System.out.printf(Locale.ROOT, "%s, 2 threads: per-sample %s GFLOP/s (median %.2f); blocks %s "
                            + "GFLOP/s (median %.2f)%n", what, fmt(ga), median(ga), fmt(gb), median(gb));
                }
            }
        } finally {
            backend.close();
        }
    }

    private static float[] random(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static String fmt(double[] g) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < g.length; i++) {
            sb.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.1f", g[i]));
        }
        return sb.append(']').toString();
    }

    private static double median(double[] v) {
        double[] t = v.clone();
        Arrays.sort(t);
        return t[t.length / 2];
    }

    /** Median wall seconds of {@link #RUNS} runs of {@code body} after {@link #WARMUP} warm-up runs. */
    private static double median(Runnable body) {
        for (int i = 0; i < WARMUP; i++) {
            body.run();
        }
        double[] t = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            long start = System.nanoTime();
            body.run();
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        return median(t);
    }
}
