package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.WeightUse;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The whole Java side of the backend without a GPU, through the checked SPI as the SDK uses it: the tiny golden
 * model loaded and run (prefill, cached steps, both stages, image mode, batch 2) on {@link RecordingDevice}, which
 * executes no kernel but checks every launch's argument types, pointers and grid, every GEMM's operands, and that
 * every allocation is freed exactly once. The numbers are meaningless (kernels are no-ops); the plumbing is what is
 * tested, down to the exact device calls of one cached step.
 */
class BackendOnRecordingDeviceTest {

    private static CheckedBackend backend(RecordingDevice device, DType weights) {
        return CheckedBackend.wrap(new CudaBackend(device, new BackendOptions(0, weights)));
    }

    private static void drive(Backend backend) {
        GoldenSet golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        CogVideoModel model = GoldenModels.load(golden, backend);
        JsonNode c = golden.manifest().get("cases").get("s1_prefill");
        int[] ids = golden.npy(c.get("files").get("input_ids").asText()).ints();
        int[] pos = golden.npy(c.get("files").get("position_ids").asText()).ints();
        int text = c.get("text_len").asInt();
        int fl = model.config().frameLength();

        // stage 1: full prefill (text queries, OWN_FRAME + ALL_FRAMES prefill attention)
        try (InferenceState s = model.newState(1, text, SequenceOptions.stage1(1.4f, false))) {
            try (Tensor l = model.prefill(s, new int[][] {ids}, pos, null)) {
                assertThat(l.shape()).containsExactly(1, ids.length, model.config().imageVocabSize());
            }
        }
        // stage 1 cached steps, batch 2, limited spatial cache, across a frame boundary
        int start = text + fl;
        try (InferenceState s = model.newState(2, text, SequenceOptions.stage1(1.4f, true))) {
            int[] prefix = Arrays.copyOf(ids, start);
            model.prefill(s, new int[][] {prefix, prefix}, Arrays.copyOf(pos, start), new int[] {start - 1}).close();
            for (int t = start; t < start + fl + 3; t++) {
                try (Tensor l = model.step(s, new int[] {ids[t], ids[t]}, pos[t])) {
                    assertThat(backend.toFloats(l)).hasSize(2 * model.config().imageVocabSize());
                }
            }
        }
        // image mode (first frame)
        try (InferenceState s = model.newState(1, text, SequenceOptions.firstFrame(1.4f))) {
            model.prefill(s, new int[][] {Arrays.copyOf(ids, text)}, Arrays.copyOf(pos, text), null).close();
            for (int t = text; t < text + 6; t++) {
                model.step(s, new int[] {ids[t]}, pos[t]).close();
            }
        }
        // stage 2: three given frames (wrapping windows), then steps with clipped shifted windows
        int n2 = text + 3 * fl;
        try (InferenceState s = model.newState(1, text, SequenceOptions.stage2(10, 1.4f))) {
            int[] p2 = new int[n2];
            for (int i = 0; i < n2; i++) {
                p2[i] = i < text ? i : 512 + (i - text);
            }
            model.prefill(s, new int[][] {Arrays.copyOf(ids, n2)}, p2, new int[] {n2 - 1}).close();
            for (int t = 0; t < 5; t++) {
                model.step(s, new int[] {ids[t + text]}, 912 + t).close();
            }
        }
        model.weights().close();
    }

    @Test
    void theTinyModelRunsThroughEveryCodePathInHalfAndFullPrecision() {
        for (DType w : new DType[] {DType.FLOAT16, DType.FLOAT32, DType.BFLOAT16}) {
            RecordingDevice device = new RecordingDevice(132);
            CheckedBackend backend = backend(device, w);
            drive(backend);
            // the model asks for key/value caches in its weights' storage type (as the old zeros() gave), so decode
            // reads K/V of that type; the uncached pass attends over float32 activations
            String decode = "cv_attn_decode_" + DeviceType.of(w).suffix() + "_d32";
            assertThat(device.launches).as("kernels launched with " + w).containsKeys(
                    "cv_attn_prefill_f32_d32", decode, "cv_attn_combine_k", "cv_layernorm_k",
                    "cv_gelu_k", "cv_add_k", "cv_bias_add_k", "cv_channel_mix_k", "cv_copy_axis_k",
                    "cv_gather_rows_k");
            if (w != DType.FLOAT32) {
                assertThat(device.launches).containsKey("cv_convert_k"); // weights and GEMM inputs
            }
            assertThat(device.gemms.get()).isGreaterThan(100);
            // tensor scopes close every temporary: nothing is left to the garbage collector
            assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
            assertThat(device.liveAllocations()).as("allocations left after closing everything (" + w + ")")
                    .isZero();
            backend.close();
        }
    }

    /**
     * One stage-1 cached step of the tiny golden model (batch 2, fp16 weights, 2 layers, width 64, image vocabulary
     * 20000) issues the same device calls as the pre-SPI backend did for the same step: the same launches with the
     * same grids, GEMMs, host copies, and allocations (see {@link ExpectedStep}); the K/V caches are in the weights'
     * float16 storage type, as the old {@code zeros()} gave them, so the decode kernel is the f16 one.
     */
    @Test
    void aCachedStepIssuesTheSameDeviceCallsAsBefore() {
        RecordingDevice device = new RecordingDevice(132);
        CheckedBackend backend = backend(device, DType.FLOAT16);
        GoldenSet golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        CogVideoModel model = GoldenModels.load(golden, backend);
        JsonNode c = golden.manifest().get("cases").get("s1_prefill");
        int[] ids = golden.npy(c.get("files").get("input_ids").asText()).ints();
        int[] pos = golden.npy(c.get("files").get("position_ids").asText()).ints();
        int text = c.get("text_len").asInt();
        int start = text + model.config().frameLength();
        List<String> step;
        try (InferenceState s = model.newState(2, text, SequenceOptions.stage1(1.4f, false))) {
            int[] prefix = Arrays.copyOf(ids, start);
            model.prefill(s, new int[][] {prefix, prefix}, Arrays.copyOf(pos, start), new int[] {start - 1}).close();
            int from = device.callCount();
            try (Tensor l = model.step(s, new int[] {ids[start], ids[start]}, pos[start])) {
                backend.toFloats(l);
            }
            step = device.calls(from);
        }
        model.weights().close();
        assertThat(device.liveAllocations()).isZero();
        Map<String, Integer> histogram = new TreeMap<>();
        step.stream().filter(call -> !call.startsWith("alloc") && !call.startsWith("free"))
                .forEach(call -> histogram.merge(call, 1, Integer::sum));
        assertThat(histogram).isEqualTo(ExpectedStep.HISTOGRAM);
        assertThat(bytes(step, "alloc ")).as("allocations of the step").containsExactly(ExpectedStep.ALLOCATIONS,
                ExpectedStep.ALLOCATED_BYTES);
        assertThat(bytes(step, "free ")).as("every allocation of the step is freed in the step")
                .containsExactly(ExpectedStep.ALLOCATIONS, ExpectedStep.ALLOCATED_BYTES);
        backend.close();
    }

    /** {count, total bytes} of the recorded calls that start with {@code prefix}. */
    private static long[] bytes(List<String> calls, String prefix) {
        long[] r = new long[2];
        calls.stream().filter(call -> call.startsWith(prefix)).forEach(call -> {
            r[0]++;
            r[1] += Long.parseLong(call.substring(prefix.length()));
        });
        return r;
    }

    @Test
    void uploadsAndDownloadsMoveTheBytes() {
        RecordingDevice device = new RecordingDevice(4);
        CheckedBackend fp32 = backend(device, DType.FLOAT32);
        float[] values = Reference.gaussian(new java.util.Random(3), 6 * 5, 1.0);
        ByteBuffer direct = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        direct.asFloatBuffer().put(values);
        try (Tensor heap = fp32.upload(TensorData.ofFloats("w", values, 6, 5), WeightUse.LINEAR);
                Tensor mapped = fp32.upload(new TensorData("w", DType.FLOAT32, new int[] {6, 5}, direct),
                        WeightUse.GENERAL);
                Tensor act = fp32.fromFloats(values, 1, 6, 5);
                Tensor rows = fp32.slice(heap, 0, 2, 3)) {
            assertThat(fp32.toFloats(heap)).containsExactly(values);
            assertThat(fp32.toFloats(mapped)).containsExactly(values);
            assertThat(fp32.toFloats(act)).containsExactly(values);
            assertThat(rows.shape()).containsExactly(3, 5);
        }
        assertThat(device.liveAllocations()).isZero();
        CheckedBackend fp16 = backend(device, DType.FLOAT16);
        try (Tensor w = fp16.upload(TensorData.ofFloats("w", values, 6, 5), WeightUse.LINEAR);
                Tensor b = fp16.upload(TensorData.ofFloats("b", values, 30), WeightUse.GENERAL)) {
            assertThat(w.dtype()).as("rank-2 weights in the weight type").isEqualTo(DType.FLOAT16);
            assertThat(b.dtype()).as("rank-1 weights stay float32").isEqualTo(DType.FLOAT32);
        }
        assertThat(device.liveAllocations()).isZero();
    }

    @Test
    void cachesInEveryTypeTheKernelsReadAndNoOther() {
        RecordingDevice device = new RecordingDevice(4);
        CheckedBackend fp16 = backend(device, DType.FLOAT16);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16}) {
            try (Tensor cache = fp16.cache(t, 2, 3, 4); Tensor rows = fp16.fromFloats(new float[16], 2, 2, 4)) {
                assertThat(cache.dtype()).isEqualTo(t);
                assertThat(cache.shape()).containsExactly(2, 3, 4);
                assertThat(fp16.toFloats(cache)).containsOnly(0f).hasSize(24);
                fp16.write(cache, 1, 1, rows);
            }
        }
        assertThatThrownBy(() -> fp16.cache(DType.FLOAT64, 2, 3, 4)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("FLOAT32, FLOAT16 or BFLOAT16").hasMessageContaining("not FLOAT64");
        assertThat(device.liveAllocations()).isZero();
    }

    /**
     * The attention of {@code CudaAttentionGpuTest}'s random cases (every scope and flag, prefill and split-K decode,
     * K/V caches of each type) is accepted by the checking layer and every launch passes the fake device's checks
     * (grids, argument types, every pointer of the parameter struct inside a live allocation).
     */
    @Test
    void attentionOfRandomShapesPassesTheLaunchChecks() {
        RecordingDevice device = new RecordingDevice(132);
        CheckedBackend backend = backend(device, DType.FLOAT32);
        FusedAttention attn = OpPacks.require(backend, FusedAttention.class, "the test");
        java.util.Random r = new java.util.Random(11);
        DType[] kv = {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16};
        for (int i = 0; i < 120; i++) {
            boolean decode = i % 2 == 0;
            Reference.Case c;
            do {
                c = Reference.randomCase(r, decode ? 2500 : 700, decode, new int[] {16, 32, 40, 64, 128});
            } while (c.keyLength() < 1);
            int w = c.width();
            try (Tensor q = backend.fromFloats(new float[c.batch() * c.nq() * w], c.batch(), c.nq(), w);
                    Tensor rows = backend.fromFloats(new float[c.batch() * c.kRows() * w], c.batch(), c.kRows(), w);
                    Tensor k = backend.cache(kv[i % 3], c.batch(), c.kRows(), w);
                    Tensor v = backend.cache(kv[i % 3], c.batch(), c.kRows(), w)) {
                backend.write(k, 1, 0, rows);
                backend.write(v, 1, 0, rows);
                attn.attention(q, k, v, c.keyLength(), c.mask()).close();
            }
        }
        assertThat(device.launches).containsKeys("cv_attn_prefill_f16_d128", "cv_attn_decode_bf16_d64",
                "cv_attn_combine_k");
        assertThat(device.liveAllocations()).isZero();
    }

    @Test
    void onlyTheFusedAttentionPackIsProvided() {
        CheckedBackend b = backend(new RecordingDevice(4), DType.FLOAT32);
        assertThat(b.unwrap().find(FusedAttention.class)).isPresent();
        assertThat(b.find(FusedAttention.class)).isPresent();
        assertThat(b.find(LocalAttention.class)).isEmpty();
        assertThat(b.find(VqVaeOps.class)).isEmpty();
        assertThatThrownBy(() -> OpPacks.require(b, VqVaeOps.class, "decoding frames to pixels"))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("backend 'cuda' does not provide the VqVaeOps op pack")
                .hasMessageContaining("decoding frames to pixels");
        assertThatThrownBy(() -> OpPacks.require(b, LocalAttention.class, "super-resolution"))
                .hasMessageContaining("does not provide the LocalAttention op pack");
        assertThat(b.description()).contains("weights FLOAT32").contains("FusedAttention");
    }

    /**
     * Argument errors come from the checking layer (the backend has no checks of its own); what the backend still
     * refuses are device limits, such as a head wider than the widest compiled kernel.
     */
    @Test
    void argumentErrorsComeFromTheCheckingLayerAndDeviceLimitsFromTheBackend() {
        RecordingDevice device = new RecordingDevice(4);
        CheckedBackend fp32 = backend(device, DType.FLOAT32);
        CheckedBackend other = backend(device, DType.FLOAT32);
        FusedAttention attn = OpPacks.require(fp32, FusedAttention.class, "the test");
        try (Tensor foreign = other.fromFloats(new float[] {1}, 1, 1, 1)) {
            assertThatThrownBy(() -> fp32.gelu(foreign)).hasMessageContaining("belongs to another backend");
        }
        Tensor closed = fp32.fromFloats(new float[] {1}, 1, 1, 1);
        closed.close();
        assertThatThrownBy(() -> fp32.toFloats(closed)).hasMessageContaining("is closed");
        try (Tensor x = fp32.fromFloats(new float[8], 1, 1, 8)) {
            AttentionMask mask = new AttentionMask(2, 1, 0, 0f, false, 0, 0, 4, 2, AttentionMask.Scope.ALL_FRAMES,
                    true, 0, 0, false);
            assertThatThrownBy(() -> attn.attention(x, x, x, 2, mask)).hasMessageContaining("keyLength 2 outside");
        }
        try (Tensor wide = fp32.fromFloats(new float[256], 1, 1, 256)) {
            AttentionMask oneHead = new AttentionMask(1, 1, 0, 0f, false, 0, 0, 4, 2, AttentionMask.Scope.ALL_FRAMES,
                    true, 0, 0, false);
            assertThatThrownBy(() -> attn.attention(wide, wide, wide, 1, oneHead))
                    .hasMessageContaining("head width 256 is not supported by the cuda kernels (at most 128)");
        }
        assertThat(fp32.liveTemporaries()).isZero();
        assertThat(device.liveAllocations()).isZero();
    }

    /**
     * The device calls of {@link #aCachedStepIssuesTheSameDeviceCallsAsBefore}, allocations and frees aside: every
     * entry equals the pre-SPI backend's (commit 5d526ac, same fake device and step), except that its decode kernel
     * was {@code cv_attn_decode_f16_d32} (half caches from {@code zeros()}); the allocations were 68 of 206,348 bytes
     * in all, each freed within the step, as now. The order of launches and GEMMs is the same too (only one
     * allocation per layer moved, because the model now slices the queries after writing the caches).
     */
    private static final class ExpectedStep {
        static final Map<String, Integer> HISTOGRAM = new TreeMap<>(Map.ofEntries(
                Map.entry("download 160000", 1),
                Map.entry("gemm 2x256->64 F16", 2),
                Map.entry("gemm 2x64->192 F16", 4),
                Map.entry("gemm 2x64->20000 F16", 1),
                Map.entry("gemm 2x64->256 F16", 2),
                Map.entry("gemm 2x64->64 F16", 4),
                Map.entry("launch cv_add_k 1x1x1/256", 5),
                Map.entry("launch cv_attn_combine_k 4x2x1/64", 4),
                Map.entry("launch cv_attn_decode_f16_d32 3x4x2/128", 4),
                Map.entry("launch cv_bias_add_k 1x1x1/256", 6),
                Map.entry("launch cv_bias_add_k 2x1x1/256", 6),
                Map.entry("launch cv_channel_mix_k 1x1x1/256", 2),
                Map.entry("launch cv_convert_k 1x1x1/256", 11),
                Map.entry("launch cv_convert_k 2x1x1/256", 2),
                Map.entry("launch cv_copy_axis_k 1x1x1/256", 20),
                Map.entry("launch cv_gather_rows_k 1x1x1/256", 1),
                Map.entry("launch cv_gather_rows_k 2x1x1/256", 1),
                Map.entry("launch cv_gelu_k 2x1x1/256", 2),
                Map.entry("launch cv_layernorm_k 2x1x1/256", 9),
                Map.entry("upload 4", 1),
                Map.entry("upload 8", 1)));
        static final int ALLOCATIONS = 68;
        static final long ALLOCATED_BYTES = 206_348;
    }
}
