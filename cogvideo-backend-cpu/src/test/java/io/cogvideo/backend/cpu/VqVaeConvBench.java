package io.cogvideo.backend.cpu;

import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.VqVaeTrainingOps;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Speed of the CPU backend's convolution, forward ({@link CpuImageOps}) and backward ({@link CpuVqVaeTrainingOps},
 * dX + dW + dBias), on 2 threads at the demo VQ-VAE's two typical shapes: [8, 32, 48, 48] 3x3 32 -> 32 and
 * [8, 128, 12, 12] 3x3 128 -> 128, padding 1 (a benchmark, not a timed test: it prints, it asserts nothing).
 * Counts {@code 2·N·O·C·kh·kw·Ho·Wo} flops for the forward and twice that for the backward; reports, in
 * {@value #ROUNDS} interleaved rounds, the minimum and median of {@value #RUNS} runs after {@value #WARMUP} warm-up
 * runs and the flops per CPU-second of the process (the machine's cores are shared, so wall times vary). Runs only
 * with {@code -Dcogvideo.bench.vqconv=true}.
 */
class VqVaeConvBench {
    private static final int WARMUP = 3;
    private static final int RUNS = 7;
    private static final int ROUNDS = 3;

    @Test
    @EnabledIfSystemProperty(named = "cogvideo.bench.vqconv", matches = "true")
    void convolutionGflops() {
        CpuBackend backend = new CpuBackend(new BackendOptions(2, DType.FLOAT32));
        try {
            VqVaeOps fwd = backend.find(VqVaeOps.class).orElseThrow();
            VqVaeTrainingOps bwd = backend.find(VqVaeTrainingOps.class).orElseThrow();
            for (int[] s : new int[][] {{8, 32, 48, 48, 32}, {8, 128, 12, 12, 128}}) {
                int n = s[0];
                int c = s[1];
                int h = s[2];
                int w = s[3];
                int o = s[4];
                Random r = new Random(1);
                Tensor x = random(backend, r, n, c, h, w);
                Tensor weight = random(backend, r, o, c, 3, 3);
                Tensor bias = random(backend, r, o);
                Tensor dy = random(backend, r, n, o, h, w);
                double flops = 2.0 * n * o * c * 9 * h * w;
                Runnable forward = () -> fwd.conv2d(x, weight, bias, 1, 1, 1, 1, 1).close();
                Runnable backward = () -> {
                    VqVaeTrainingOps.Conv2dGrads g = bwd.conv2dBackward(x, weight, dy, 1, 1, 1, 1, 1, true, true);
                    g.dX().close();
                    g.dWeight().close();
                    g.dBias().close();
                };
                for (int round = 0; round < ROUNDS; round++) { // interleaved: both see the same load
                    double[] f = time(forward);
                    double[] b = time(backward);
                    System.out.printf(Locale.ROOT, "conv %s 3x3 %d->%d, 2 threads, round %d: forward %s; backward "
                            + "dX+dW+dB %s%n", Arrays.toString(new int[] {n, c, h, w}), c, o, round, fmt(f, flops),
                            fmt(b, 2 * flops));
                }
            }
        } finally {
            backend.close();
        }
    }

    private static Tensor random(CpuBackend backend, Random r, int... shape) {
        float[] v = new float[(int) TensorData.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return backend.fromFloats(v, shape);
    }

    private static String fmt(double[] t, double flops) {
        return String.format(Locale.ROOT, "min %.1f ms (%.2f GFLOP/s), median %.1f ms (%.2f GFLOP/s), %.2f GFLOP per"
                + " CPU-second", t[0] * 1e3, flops / t[0] / 1e9, t[1] * 1e3, flops / t[1] / 1e9, flops / t[2] / 1e9);
    }

    /**
     * {min wall seconds, median wall seconds, mean process CPU seconds} of {@link #RUNS} runs of {@code body} after
     * {@link #WARMUP} warm-up runs. The CPU time (all threads, OpenBLAS's included) is what the work cost on a
     * machine whose cores other processes share; the minimum is the run least disturbed by them.
     */
    private static double[] time(Runnable body) {
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (int i = 0; i < WARMUP; i++) {
            body.run();
        }
        double[] t = new double[RUNS];
        long c0 = os.getProcessCpuTime();
        for (int i = 0; i < RUNS; i++) {
            long start = System.nanoTime();
            body.run();
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        double cpu = (os.getProcessCpuTime() - c0) / 1e9 / RUNS;
        Arrays.sort(t);
        return new double[] {t[0], t[RUNS / 2], cpu};
    }
}
