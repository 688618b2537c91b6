package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.AttentionMask.Scope;
import io.cogvideo.spi.Half;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The production kernel sources ({@code src/main/cuda/*.cuh}), compiled for the host against the SIMT emulator
 * ({@code src/test/cuda/cuda_emu.h}) and compared with plain references: the structured mask for every scope and
 * flag, the key-range tiling, prefill and decode attention (with split-K and the combine pass) for float, half and
 * bfloat16 K/V, and the element-wise kernels. Launch shapes come from {@link LaunchGeometry} with small
 * multiprocessor counts so that the grid-stride loops wrap. What this cannot see (memory model, races, real
 * timing) is left to the GPU tests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmulatedKernelsTest {
    private static final long SEED = Long.getLong("cogvideo.test.seed", 20240611L);

    @BeforeAll
    void emulator() {
        String why = HostEmulator.unavailableReason();
        assumeTrue(why == null, "kernel emulator not available: " + why);
    }

    private static byte[] maskParams(AttentionMask m, int nq, int keyLength) {
        return new AttentionParams(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, nq, keyLength, 1, 1, 1f, m).pack();
    }

    /** Masks as CogVideoModel builds them (grid 20, text 9), plus many random ones. */
    private static List<Object[]> maskCases(Random r) {
        List<Object[]> cases = new ArrayList<>();
        int t = 9;
        int l = 400;
        // stage-1 prefill over text + 2 frames: spatial (causal own frame, text queries) and temporal channel
        cases.add(new Object[] {new AttentionMask(48, t, 0, 1.4f, true, 0, 0, l, 20, Scope.OWN_FRAME, true, 0, 0,
                false), t + 2 * l, t + 2 * l});
        cases.add(new Object[] {new AttentionMask(48, t, 0, 0f, false, 0, 0, l, 20, Scope.ALL_FRAMES, true, 0, 0,
                false), 2 * l, t + 2 * l});
        // stage-2 prefill (3 given frames): windows wrap around, no causality; odd layer shifted
        cases.add(new Object[] {new AttentionMask(48, t, 0, 0f, false, 0, 0, l, 20, Scope.WINDOW, false, 10, 5,
                true), 3 * l, t + 3 * l});
        // cached steps: limited spatial cache (frame 3 from position 1200), stage-2 clipped shifted windows
        cases.add(new Object[] {new AttentionMask(48, t, 0, 1.4f, false, 1317, 1200, l, 20, Scope.OWN_FRAME, true, 0,
                0, false), 1, t + 118});
        cases.add(new Object[] {new AttentionMask(48, t, 0, 1.4f, false, 1317, 0, l, 20, Scope.WINDOW, true, 10, 5,
                false), 1, t + 1318});
        cases.add(new Object[] {new AttentionMask(48, t, 3, 0f, false, 777, 0, l, 20, Scope.ALL_FRAMES, true, 0, 0,
                false), 1, t + 778});
        for (int i = 0; i < 160; i++) {
            Reference.Case c = Reference.randomCase(r, 600, r.nextInt(3) == 0, new int[] {16});
            cases.add(new Object[] {c.mask(), c.nq(), c.keyLength()});
        }
        return cases;
    }

    @Test
    void maskVisibilityAndKeyRangesMatchTheReference() {
        Random r = new Random(SEED);
        List<Object[]> cases = maskCases(r);
        int[] tileRows = {1, 32, 16, 7};
        HostEmulator.Request req = new HostEmulator.Request();
        int[] tiles = new int[cases.size()];
        for (int i = 0; i < cases.size(); i++) {
            Object[] c = cases.get(i);
            tiles[i] = tileRows[i % tileRows.length];
            req.i32(11).bytes(maskParams((AttentionMask) c[0], (int) c[1], (int) c[2])).i32(tiles[i]);
        }
        ByteBuffer out = HostEmulator.run(req);
        long pairs = 0;
        for (int i = 0; i < cases.size(); i++) {
            AttentionMask m = (AttentionMask) cases.get(i)[0];
            int nq = (int) cases.get(i)[1];
            int keys = (int) cases.get(i)[2];
            String what = "case " + i + " (seed " + SEED + "): " + m + ", nq " + nq + ", keys " + keys;
            byte[] vis = new byte[nq * keys];
            out.get(vis);
            for (int q = 0; q < nq; q++) {
                for (int k = 0; k < keys; k++) {
                    byte v = vis[q * keys + k];
                    assertThat(v).as(what + ": cv_visible_info disagrees with cv_visible at q=" + q + ", k=" + k)
                            .isNotEqualTo((byte) 2);
                    if ((v == 1) != m.visible(q, k)) {
                        throw new AssertionError(what + ": kernel says " + (v == 1) + " at q=" + q + ", k=" + k);
                    }
                    pairs++;
                }
            }
            for (int q0 = 0; q0 < nq; q0 += tiles[i]) {
                int a0 = out.getInt();
                int a1 = out.getInt();
                int b0 = out.getInt();
                int b1 = out.getInt();
                String tile = what + ", tile [" + q0 + ", " + Math.min(nq, q0 + tiles[i]) + ") ranges [" + a0 + ","
                        + a1 + ") [" + b0 + "," + b1 + ")";
                assertThat(0 <= a0 && a0 <= a1 && a1 <= b0 && b0 <= b1 && b1 <= keys).as(tile).isTrue();
                for (int q = q0; q < Math.min(nq, q0 + tiles[i]); q++) {
                    for (int k = 0; k < keys; k++) {
                        if (m.visible(q, k) && !((k >= a0 && k < a1) || (k >= b0 && k < b1))) {
                            throw new AssertionError(tile + ": visible key " + k + " of query " + q + " is skipped");
                        }
                    }
                }
            }
        }
        assertThat(out.remaining()).isZero();
        assertThat(pairs).isGreaterThan(1_000_000);
    }

    /** One attention problem through the emulated kernels, planned by the production {@link LaunchGeometry}. */
    private static void addAttention(HostEmulator.Request req, Reference.Case c, DeviceType kv, int sms, float[] q,
            float[] k, float[] v) {
        int d = c.headDim();
        int width = c.width();
        LaunchGeometry.AttentionPlan plan = LaunchGeometry.attention(c.batch(), c.nq(), c.mask().heads(), d,
                c.keyLength(), sms);
        byte[] params = new AttentionParams(0, 0, 0, 0, (long) c.nq() * width, (long) c.kRows() * width,
                (long) c.nq() * width, width, width, width, c.nq(), c.keyLength(), d, plan.splits(),
                (float) (1.0 / Math.sqrt(d)), c.mask()).pack();
        req.i32(1).i32(plan.decode() ? 1 : 0, plan.bucket(), plan.gridX(), plan.gridY(), plan.gridZ(),
                plan.blockThreads(), kv.code(), c.batch(), c.kRows()).bytes(params).floats(q).floats(k).floats(v);
    }

    private void attentionCases(boolean decode, int count, int maxKeys, int[] headDims, int[] smsChoices) {
        Random r = new Random(SEED + (decode ? 1 : 2));
        HostEmulator.Request req = new HostEmulator.Request();
        List<Reference.Case> cases = new ArrayList<>();
        List<float[]> refs = new ArrayList<>();
        List<DeviceType> types = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Reference.Case c = Reference.randomCase(r, maxKeys, decode, headDims);
            DeviceType kv = DeviceType.values()[i % 3];
            int width = c.width();
            float[] q = Reference.gaussian(r, c.batch() * c.nq() * width, 1.0);
            float[] k = Reference.gaussian(r, c.batch() * c.kRows() * width, 1.0);
            float[] v = Reference.gaussian(r, c.batch() * c.kRows() * width, 1.0);
            addAttention(req, c, kv, smsChoices[i % smsChoices.length], q, k, v);
            cases.add(c);
            types.add(kv);
            refs.add(Reference.attention(q, Reference.round(k, kv), Reference.round(v, kv), c));
        }
        ByteBuffer out = HostEmulator.run(req);
        for (int i = 0; i < count; i++) {
            Reference.Case c = cases.get(i);
            float[] got = HostEmulator.floats(out, c.batch() * c.nq() * c.width());
            double rel = Reference.relativeError(got, refs.get(i));
            assertThat(rel).as((decode ? "decode" : "prefill") + " case " + i + " (seed " + SEED + ", K/V "
                    + types.get(i) + "): " + c).isLessThan(2e-6);
        }
        assertThat(out.remaining()).isZero();
    }

    @Test
    void decodeAttentionMatchesTheReference() {
        // head widths on both sides of each bucket; 132 SMs give split-K with the combine pass, 1 SM none
        attentionCases(true, 36, 700, new int[] {16, 32, 40, 64, 100, 128}, new int[] {132, 1, 16});
    }

    @Test
    void prefillAttentionMatchesTheReference() {
        attentionCases(false, 15, 72, new int[] {16, 32, 64, 72, 128}, new int[] {132});
    }

    @Test
    void stageLikeAttentionMatchesTheReference() {
        // the masks of CogVideoModel on a 4x4 grid: prefill of text + 3 frames and a cached step over a longer cache
        int t = 5;
        int l = 16;
        Random r = new Random(SEED + 3);
        List<Reference.Case> cases = List.of(
                new Reference.Case(new AttentionMask(2, t, 0, 1.4f, true, 0, 0, l, 4, Scope.OWN_FRAME, true, 0, 0,
                        false), 1, t + 3 * l, t + 3 * l, t + 3 * l, 64),
                new Reference.Case(new AttentionMask(2, t, 0, 0f, false, 0, 0, l, 4, Scope.WINDOW, false, 2, 1, true),
                        1, 3 * l, t + 3 * l, t + 3 * l, 64),
                new Reference.Case(new AttentionMask(2, t, 0, 1.4f, false, 3 * l + 6, 0, l, 4, Scope.WINDOW, true, 2,
                        1, false), 2, 1, t + 5 * l, t + 3 * l + 7, 64),
                new Reference.Case(new AttentionMask(2, t, 0, 1.4f, false, 3 * l + 6, 3 * l, l, 4, Scope.OWN_FRAME,
                        true, 0, 0, false), 2, 1, t + l, t + 7, 64));
        HostEmulator.Request req = new HostEmulator.Request();
        List<float[]> refs = new ArrayList<>();
        for (Reference.Case c : cases) {
            float[] q = Reference.gaussian(r, c.batch() * c.nq() * c.width(), 1.0);
            float[] k = Reference.gaussian(r, c.batch() * c.kRows() * c.width(), 1.0);
            float[] v = Reference.gaussian(r, c.batch() * c.kRows() * c.width(), 1.0);
            addAttention(req, c, DeviceType.F16, 132, q, k, v);
            refs.add(Reference.attention(q, Reference.round(k, DeviceType.F16), Reference.round(v, DeviceType.F16), c));
        }
        ByteBuffer out = HostEmulator.run(req);
        for (int i = 0; i < cases.size(); i++) {
            Reference.Case c = cases.get(i);
            float[] got = HostEmulator.floats(out, c.batch() * c.nq() * c.width());
            assertThat(Reference.relativeError(got, refs.get(i))).as("case " + i + ": " + c).isLessThan(2e-6);
        }
    }

    @Test
    void elementwiseKernelsMatchTheReference() {
        Random r = new Random(SEED + 4);
        int sms = 1; // small grids: every grid-stride loop wraps
        int threads = LaunchGeometry.THREADS;
        HostEmulator.Request req = new HostEmulator.Request();

        int rows = 70;
        int h = 96;
        float[] x = Reference.gaussian(r, rows * h, 3.0);
        for (int i = 0; i < x.length; i++) {
            x[i] += 5f; // a mean far from 0
        }
        float[] g = Reference.gaussian(r, h, 1.0);
        float[] b = Reference.gaussian(r, h, 1.0);
        req.i32(2, LaunchGeometry.rowBlocks(rows, sms), threads, rows, h).f32(1e-5f).floats(x).floats(g).floats(b);

        int n = 5000;
        float[] gx = Reference.gaussian(r, n, 3.0);
        req.i32(3, LaunchGeometry.elementwiseBlocks(n, sms), threads).i64(n).floats(gx);

        float[] a = Reference.gaussian(r, 3 * 7 * 11, 1.0);
        float[] ab = Reference.gaussian(r, 7 * 11, 1.0); // batch-1 broadcast over batch 3
        req.i32(4, LaunchGeometry.elementwiseBlocks(a.length, sms), threads).i64(a.length).i64(ab.length).floats(a)
                .floats(ab);

        float[] y = Reference.gaussian(r, 9 * 33, 1.0);
        float[] bias = Reference.gaussian(r, 33, 1.0);
        req.i32(5, LaunchGeometry.elementwiseBlocks(y.length, sms), threads).i64(y.length).i32(33).floats(y)
                .floats(bias);

        float[] base = Reference.gaussian(r, 4 * 48, 1.0);
        float[] plus = Reference.gaussian(r, 4 * 48, 1.0);
        float[] logits = Reference.gaussian(r, 48, 2.0);
        req.i32(6, LaunchGeometry.elementwiseBlocks(base.length, sms), threads).i64(base.length).i32(48).floats(base)
                .floats(plus).floats(logits);

        ByteBuffer out = HostEmulator.run(req);
        float[] ln = HostEmulator.floats(out, rows * h);
        assertThat(Reference.maxAbsError(ln, Reference.layerNorm(x, h, g, b, 1e-5f))).as("layerNorm").isLessThan(2e-5);
        float[] ge = HostEmulator.floats(out, n);
        for (int i = 0; i < n; i++) {
            assertThat((double) Math.abs(ge[i] - Reference.gelu(gx[i]))).as("gelu(" + gx[i] + ")")
                    .isLessThan(4e-7 * (1 + Math.abs(gx[i])));
        }
        float[] sum = HostEmulator.floats(out, a.length);
        for (int i = 0; i < a.length; i++) {
            assertThat(sum[i]).isEqualTo(a[i] + ab[i % ab.length]);
        }
        float[] yb = HostEmulator.floats(out, y.length);
        for (int i = 0; i < y.length; i++) {
            assertThat(yb[i]).isEqualTo(y[i] + bias[i % 33]);
        }
        float[] mix = HostEmulator.floats(out, base.length);
        for (int i = 0; i < base.length; i++) {
            float s = Reference.sigmoid(logits[i % 48]);
            assertThat((double) Math.abs(mix[i] - (s * base[i] + (1 - s) * plus[i]))).isLessThan(1e-6);
        }
        assertThat(out.remaining()).isZero();
    }

    @Test
    void copiesConversionsAndGather() {
        Random r = new Random(SEED + 5);
        int sms = 1;
        int threads = LaunchGeometry.THREADS;
        HostEmulator.Request req = new HostEmulator.Request();
        // write rows [3, 8) of a [2, 12, 10] f16 cache from a [2, 5, 10] f32 source (the KV-cache write)
        float[] src = Reference.gaussian(r, 2 * 5 * 10, 1.0);
        float[] dst = Reference.gaussian(r, 2 * 12 * 10, 1.0);
        req.i32(7, LaunchGeometry.elementwiseBlocks(100, sms), threads, DeviceType.F32.code(), DeviceType.F16.code())
                .i64(2).i32(5, 0, 12, 3, 5).i64(10).floats(src).floats(dst);
        // slice columns [4, 9) of a [3, 2, 16] bf16 tensor along the last axis into a f32 [3, 2, 5]
        float[] s2 = Reference.gaussian(r, 3 * 2 * 16, 1.0);
        float[] d2 = new float[3 * 2 * 5];
        req.i32(7, LaunchGeometry.elementwiseBlocks(30, sms), threads, DeviceType.BF16.code(), DeviceType.F32.code())
                .i64(6).i32(16, 4, 5, 0, 5).i64(1).floats(s2).floats(d2);
        float[] conv = Reference.gaussian(r, 3000, 100.0);
        conv[0] = 70000f; // overflows half
        conv[1] = 1e-6f; // half subnormal
        req.i32(8, LaunchGeometry.elementwiseBlocks(conv.length, sms), threads, DeviceType.F32.code(),
                DeviceType.F16.code()).i64(conv.length).floats(conv);
        req.i32(8, LaunchGeometry.elementwiseBlocks(conv.length, sms), threads, DeviceType.F32.code(),
                DeviceType.BF16.code()).i64(conv.length).floats(conv);
        float[] table = Reference.gaussian(r, 50 * 24, 1.0);
        int[] rowsIdx = r.ints(37, 0, 50).toArray();
        req.i32(9, LaunchGeometry.rowBlocks(rowsIdx.length, sms), threads, DeviceType.F16.code(), 50, 24,
                rowsIdx.length).floats(table).ints(rowsIdx);

        ByteBuffer out = HostEmulator.run(req);
        float[] cache = HostEmulator.floats(out, dst.length);
        for (int o = 0; o < 2; o++) {
            for (int row = 0; row < 12; row++) {
                for (int j = 0; j < 10; j++) {
                    float expected = row >= 3 && row < 8 ? Reference.round(src[(o * 5 + row - 3) * 10 + j], DeviceType.F16)
                            : Reference.round(dst[(o * 12 + row) * 10 + j], DeviceType.F16);
                    assertThat(cache[(o * 12 + row) * 10 + j]).isEqualTo(expected);
                }
            }
        }
        float[] sl = HostEmulator.floats(out, d2.length);
        for (int o = 0; o < 6; o++) {
            for (int j = 0; j < 5; j++) {
                assertThat(sl[o * 5 + j]).isEqualTo(Reference.round(s2[o * 16 + 4 + j], DeviceType.BF16));
            }
        }
        float[] half = HostEmulator.floats(out, conv.length);
        float[] bf = HostEmulator.floats(out, conv.length);
        for (int i = 0; i < conv.length; i++) {
            assertThat(half[i]).as("to half: " + conv[i]).isEqualTo(Half.toFloat(Half.fromFloat(conv[i])));
            assertThat(bf[i]).as("to bf16: " + conv[i]).isEqualTo(Reference.bf16(conv[i]));
        }
        float[] gathered = HostEmulator.floats(out, rowsIdx.length * 24);
        for (int i = 0; i < rowsIdx.length; i++) {
            for (int j = 0; j < 24; j++) {
                assertThat(gathered[i * 24 + j]).isEqualTo(Reference.round(table[rowsIdx[i] * 24 + j], DeviceType.F16));
            }
        }
        assertThat(out.remaining()).isZero();
    }
}
