package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.WeightUse;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * Backends are independent instances: each uses its own thread count (Java workers and OpenBLAS), whatever was made
 * first; close releases the workers; the op packs and the float32-only caches.
 */
class CpuBackendInstancesTest {
    /** Rows, inputs and outputs of a linear layer large enough to take the OpenBLAS GEMM path. */
    private static final int ROWS = 64;
    private static final int IN = 96;
    private static final int OUT = 80;

    private static CpuBackend create(int threads) {
        return (CpuBackend) new CpuBackendProvider().create(new BackendOptions(threads, null));
    }

    /** How many distinct threads one parallel loop of {@code b} runs on. */
    private static int threadsOfOneLoop(CpuBackend b) {
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        b.threads().forRange(0, 64, i -> seen.add(Thread.currentThread()));
        return seen.size();
    }

    /** A linear layer of {@link #ROWS} rows (a GEMM through OpenBLAS) on a checked view of {@code raw}. */
    private static float[] gemmLinear(CpuBackend raw, float[] x, float[] w) {
        Backend b = CheckedBackend.wrap(raw, false);
        assertThat((long) ROWS * IN * OUT).isGreaterThan(CpuBackend.JAVA_GEMM_MACS);
        assertThat(ROWS).isGreaterThan(CpuBackend.JAVA_GEMV_ROWS);
        Tensor weight = b.upload(TensorData.ofFloats("w", w, OUT, IN), WeightUse.LINEAR);
        try (Tensor in = b.fromFloats(x, 1, ROWS, IN); Tensor y = b.linear(in, weight, null)) {
            return b.toFloats(y);
        }
    }

    @Test
    void eachBackendUsesItsOwnThreadCountWhicheverWasMadeFirst() {
        CpuBackend one = create(1);
        CpuBackend three = create(3);
        CpuBackend two = create(2);
        try {
            // the Java workers: no first-call-wins, each backend has the count it was made with
            assertThat(one.threads().count()).isEqualTo(1);
            assertThat(three.threads().count()).isEqualTo(3);
            assertThat(two.threads().count()).isEqualTo(2);
            assertThat(one.threads().workerThreads()).isEmpty();
            assertThat(three.threads().workerThreads()).hasSize(2).allMatch(Thread::isAlive);
            assertThat(threadsOfOneLoop(one)).isEqualTo(1);
            assertThat(threadsOfOneLoop(three)).isEqualTo(3);
            assertThat(threadsOfOneLoop(two)).isEqualTo(2);
            assertThat(one.description()).contains(", 1 threads)");
            assertThat(three.description()).contains(", 3 threads)");
            assertThat(List.of(one.blasThreads(), three.blasThreads(), two.blasThreads())).containsExactly(1, 3, 2);

            // OpenBLAS: its one process-wide count (as last set through JavaCPP's preset, which is how the backend
            // sets it) follows the backend whose GEMM runs, in any order
            SplittableRandom r = new SplittableRandom(11);
            float[] x = new float[ROWS * IN];
            float[] w = new float[OUT * IN];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextGaussian() * 0.1);
            }
            float[] ref = null;
            for (int round = 0; round < 2; round++) {
                for (CpuBackend b : List.of(three, one, two)) {
                    float[] y = gemmLinear(b, x, w);
                    assertThat(Blas.threadsInUse()).as("OpenBLAS threads after a GEMM of %s", b.description())
                            .isEqualTo(b.blasThreads());
                    if (ref == null) {
                        ref = y;
                    } else {
                        assertThat(y).containsExactly(ref, Offset.offset(1e-4f));
                    }
                }
            }
            double naive = 0;
            for (int i = 0; i < IN; i++) {
                naive += (double) x[(ROWS - 1) * IN + i] * w[(OUT - 1) * IN + i];
            }
            assertThat((double) ref[ROWS * OUT - 1]).isCloseTo(naive, Offset.offset(1e-4));
        } finally {
            one.close();
            three.close();
            two.close();
        }
    }

    @Test
    void withoutACountJavaUsesEveryProcessorAndOpenBlasThePhysicalCores() {
        CpuBackend b = create(0);
        try {
            assertThat(b.threads().count()).isEqualTo(Runtime.getRuntime().availableProcessors());
            assertThat(b.blasThreads()).isEqualTo(Blas.defaultThreads()).isBetween(1, b.threads().count());
            gemmLinear(b, new float[ROWS * IN], new float[OUT * IN]);
            assertThat(Blas.threadsInUse()).isEqualTo(b.blasThreads());
        } finally {
            b.close();
        }
    }

    @Test
    void closeEndsTheWorkersAndIsIdempotent() {
        CpuBackend b = create(3);
        List<Thread> workers = b.threads().workerThreads();
        assertThat(workers).hasSize(2).allMatch(Thread::isAlive);
        b.close();
        assertThat(workers).noneMatch(Thread::isAlive);
        b.close();
        assertThat(threadsOfOneLoop(b)).as("loops after close run on the caller").isEqualTo(1);
    }

    @Test
    void providesEveryPack() {
        CpuBackend b = create(1);
        try {
            for (Class<? extends OpPack> pack : OpPacks.known()) {
                assertThat(OpPacks.has(b, pack)).as(pack.getSimpleName()).isTrue();
                assertThat(OpPacks.has(CheckedBackend.wrap(b), pack)).as("checked " + pack.getSimpleName()).isTrue();
            }
            assertThat(b.find(OpPack.class)).isEmpty();
        } finally {
            b.close();
        }
    }

    @Test
    void cachesAreFloat32() {
        Backend b = CheckedBackend.wrap(create(1), false);
        try {
            try (Tensor c = b.cache(DType.FLOAT32, 2, 3, 4)) {
                assertThat(b.toFloats(c)).hasSize(24).containsOnly(0f);
                assertThat(c.dtype()).isEqualTo(DType.FLOAT32);
            }
            try (Tensor c = b.cache(DType.FLOAT16, 2, 3, 4)) {
                assertThat(c.dtype()).as("half caches are widened, never narrowed").isEqualTo(DType.FLOAT32);
            }
            assertThatThrownBy(() -> b.cache(DType.FLOAT64, 2, 3, 4)).isInstanceOf(CogVideoException.class)
                    .hasMessageContaining("cpu backend keeps key/value caches in float32")
                    .hasMessageContaining("FLOAT64");
        } finally {
            b.close();
        }
    }

    @Test
    void linearWeightsKeepTheirStorageAndGiveTheSameResultAsGeneralOnes() {
        Backend b = CheckedBackend.wrap(create(2), false);
        try {
            SplittableRandom r = new SplittableRandom(4);
            float[] w = new float[6 * 5];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) r.nextGaussian();
            }
            java.nio.ByteBuffer half = java.nio.ByteBuffer.allocate(w.length * 2)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float f : w) {
                half.putShort(io.cogvideo.spi.Half.fromFloat(f));
            }
            half.flip();
            TensorData data16 = new TensorData("w16", DType.FLOAT16, new int[] {6, 5}, half);
            Tensor lin = b.upload(data16, WeightUse.LINEAR);
            Tensor gen = b.upload(data16, WeightUse.GENERAL);
            assertThat(lin.dtype()).isEqualTo(DType.FLOAT16);
            assertThat(lin.shape()).containsExactly(6, 5);
            assertThat(b.toFloats(lin)).containsExactly(b.toFloats(gen));
            float[] x = new float[2 * 5];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            try (Tensor in = b.fromFloats(x, 1, 2, 5)) {
                assertThat(b.toFloats(b.linear(in, lin, null))).containsExactly(b.toFloats(b.linear(in, gen, null)));
            }
        } finally {
            b.close();
        }
    }
}
