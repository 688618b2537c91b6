package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.AttentionMask.Scope;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fused attention on the device against the plain double-precision reference, for every mask scope and flag
 * with random shapes (fresh inputs per case), K/V in float, half and bfloat16, prefill and decode (with split-K),
 * plus CogVideo-sized problems, through the checked SPI (K/V in a {@code cache} of the tested type). The output
 * memory is poisoned with NaN first so an unwritten element fails.
 */
@ExtendWith(RequiresCuda.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaAttentionGpuTest {
    private CheckedBackend backend;
    private FusedAttention attn;

    @BeforeAll
    void setUp() {
        backend = CheckedBackend.wrap(new CudaBackendProvider().create(new BackendOptions(0, DType.FLOAT32)));
        attn = OpPacks.require(backend, FusedAttention.class, "the attention test");
    }

    @AfterAll
    void tearDown() {
        if (backend != null) {
            backend.close();
        }
    }

    /** Runs one case on the device; K/V stored as {@code kv}. */
    private float[] run(Reference.Case c, DeviceType kv, float[] q, float[] k, float[] v) {
        int w = c.width();
        try (Tensor qt = backend.fromFloats(q, c.batch(), c.nq(), w);
                Tensor kf = backend.fromFloats(k, c.batch(), c.kRows(), w);
                Tensor vf = backend.fromFloats(v, c.batch(), c.kRows(), w);
                Tensor kt = backend.cache(kv.dtype, c.batch(), c.kRows(), w);
                Tensor vt = backend.cache(kv.dtype, c.batch(), c.kRows(), w)) {
            backend.write(kt, 1, 0, kf);
            backend.write(vt, 1, 0, vf);
            float[] nan = new float[c.batch() * c.nq() * w];
            Arrays.fill(nan, Float.NaN);
            backend.fromFloats(nan, c.batch(), c.nq(), w).close(); // poison the pool block the output will reuse
            try (Tensor out = attn.attention(qt, kt, vt, c.keyLength(), c.mask())) {
                return backend.toFloats(out);
            }
        }
    }

    private void check(Reference.Case c, DeviceType kv, Random r, String what) {
        int w = c.width();
        float[] q = Reference.gaussian(r, c.batch() * c.nq() * w, 1.0);
        float[] k = Reference.gaussian(r, c.batch() * c.kRows() * w, 1.0);
        float[] v = Reference.gaussian(r, c.batch() * c.kRows() * w, 1.0);
        float[] got = run(c, kv, q, k, v);
        float[] ref = Reference.attention(q, Reference.round(k, kv), Reference.round(v, kv), c);
        assertThat(Reference.relativeError(got, ref)).as(what + " K/V " + kv + ": " + c).isLessThan(1e-5);
    }

    @Test
    void randomMasksAndShapes() {
        Random r = new Random(System.nanoTime());
        for (int i = 0; i < 300; i++) {
            boolean decode = i % 2 == 0;
            Reference.Case c;
            do { // the SPI's attention takes keyLength >= 1 (CheckedBackend); empty key sets run in the emulator test
                c = Reference.randomCase(r, decode ? 2500 : 700, decode, new int[] {16, 32, 40, 64, 128});
            } while (c.keyLength() < 1);
            check(c, DeviceType.values()[i % 3], r, (decode ? "decode" : "prefill") + " case " + i);
        }
    }

    @Test
    void cogVideoSizedProblems() {
        Random r = new Random(System.nanoTime());
        int t = 12;
        int l = 400;
        // stage-1 cached step over a nearly full cache, batch 2 and 8, fp16 cache
        for (int batch : new int[] {2, 8}) {
            AttentionMask step = new AttentionMask(48, t, 0, 1.4f, false, 1999, 0, l, 20, Scope.ALL_FRAMES, true, 0, 0,
                    false);
            check(new Reference.Case(step, batch, 1, t + 2000, t + 2000, 64), DeviceType.F16, r, "stage-1 step");
        }
        // stage-2 step, shifted clipped windows; spatial step on the limited cache
        check(new Reference.Case(new AttentionMask(48, t, 0, 1.4f, false, 1777, 0, l, 20, Scope.WINDOW, true, 10, 5,
                false), 8, 1, t + 2000, t + 1778, 64), DeviceType.F16, r, "stage-2 step");
        check(new Reference.Case(new AttentionMask(48, t, 0, 1.4f, false, 1777, 1600, l, 20, Scope.OWN_FRAME, true, 0,
                0, false), 8, 1, t + 400, t + 178, 64), DeviceType.F16, r, "spatial step");
        // prefills: text + 2 frames (spatial, with text queries), stage-2 three given frames (wrapping windows)
        check(new Reference.Case(new AttentionMask(48, t, 0, 1.4f, true, 0, 0, l, 20, Scope.OWN_FRAME, true, 0, 0,
                false), 1, t + 2 * l, t + 2 * l, t + 2 * l, 64), DeviceType.F32, r, "spatial prefill");
        check(new Reference.Case(new AttentionMask(48, t, 0, 0f, false, 0, 0, l, 20, Scope.WINDOW, false, 10, 5,
                true), 1, 3 * l, t + 3 * l, t + 3 * l, 64), DeviceType.F32, r, "stage-2 prefill");
    }
}
