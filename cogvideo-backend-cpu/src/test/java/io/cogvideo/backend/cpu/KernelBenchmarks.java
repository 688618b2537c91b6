package io.cogvideo.backend.cpu;

import io.cogvideo.spi.Half;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmarks of the CPU backend's hot kernels, each beside its baseline in the same run (so the ratio, not the
 * absolute figure, is the result on a noisy machine). Not part of the test suite; run with
 * {@code scripts/jmh.sh} (see docs/performance.md):
 * <ul>
 *   <li>{@code gemv*}: one cached-step {@code linear} ([1, in] x [in, out]) on the backend's threads: float16
 *       weights with the Java 21+ intrinsic kernel, with the Java 17 table kernel, and float32 weights;</li>
 *   <li>{@code exp*}: the vectorisable {@code expNonPositive} against a {@code Math.exp} loop (softmax rows);</li>
 *   <li>{@code gelu*}: the kernel's GELU against the double-precision tanh formula, one thread each.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-XX:+UseParallelGC"})
public class KernelBenchmarks {
    /** in x out of the linear layer: the small config's qkv (512 x 1536) and the real size's MLP (3072 x 12288). */
    @Param({"512x1536", "3072x12288"})
    public String shape;

    private int in;
    private int out;
    private float[] x;
    private short[] w16;
    private float[] w32;
    private CpuThreads threads;
    private final Fp16.Kernel table = new Fp16Table();
    private final Fp16.Kernel intrinsic = Fp16.KERNEL;
    private float[] scores;
    private float[] activations;
    private CpuThreads single;
    private float[] scratch;
    private int[] m;
    private float[] r;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("x");
        in = Integer.parseInt(p[0]);
        out = Integer.parseInt(p[1]);
        SplittableRandom rnd = new SplittableRandom(1);
        x = new float[in];
        for (int i = 0; i < in; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        w16 = new short[in * out];
        w32 = new float[in * out];
        for (int i = 0; i < w16.length; i++) {
            w16[i] = Half.fromFloat((float) (rnd.nextGaussian() * 0.02));
            w32[i] = Half.toFloat(w16[i]);
        }
        threads = new CpuThreads(Runtime.getRuntime().availableProcessors());
        scores = new float[2012];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = (float) (-rnd.nextDouble() * 20);
        }
        scratch = new float[scores.length];
        activations = new float[1 << 18]; // a 128 x 2048 block of MLP activations
        for (int i = 0; i < activations.length; i++) {
            activations[i] = (float) (rnd.nextGaussian() * 2);
        }
        single = new CpuThreads(1);
        m = new int[scores.length];
        r = new float[scores.length];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        threads.close();
        single.close();
    }

    private float[] gemv(Fp16.Kernel k, short[] w) {
        float[] y = new float[out];
        int step = ((out + threads.count() - 1) / threads.count() + 15) / 16 * 16;
        threads.forRange(0, (out + step - 1) / step, c -> k.linearTChunk(x, 1, in, w, out, y, c * step,
                Math.min(out, c * step + step)));
        return y;
    }

    @Benchmark
    public float[] gemvFp16Intrinsic() {
        return gemv(intrinsic, w16);
    }

    @Benchmark
    public float[] gemvFp16Table() {
        return gemv(table, w16);
    }

    @Benchmark
    public float[] gemvFp32() {
        return JavaKernels.linearT(x, 1, in, w32, out, null, threads);
    }

    @Benchmark
    public float[] expVectorisable() {
        System.arraycopy(scores, 0, scratch, 0, scores.length);
        JavaKernels.expNonPositive(scratch, scratch.length, m, r);
        return scratch;
    }

    @Benchmark
    public float[] expMathExp() {
        for (int i = 0; i < scores.length; i++) {
            scratch[i] = (float) Math.exp(scores[i]);
        }
        return scratch;
    }

    @Benchmark
    public float[] geluKernel() {
        return JavaKernels.gelu(activations, single); // one thread, as the baseline
    }

    @Benchmark
    public float[] geluTanhDouble() {
        float[] y = new float[activations.length];
        for (int i = 0; i < y.length; i++) {
            double v = activations[i];
            y[i] = (float) (0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
        }
        return y;
    }
}
