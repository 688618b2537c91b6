package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The whole Java side of the backend without a GPU: the tiny golden model loaded and run (prefill, cached steps,
 * both stages, image mode, batch 2) on {@link RecordingDevice}, which executes no kernel but checks every launch's
 * argument types, pointers and grid, every GEMM's operands, and that every allocation is freed exactly once.
 * The numbers are meaningless (kernels are no-ops); the plumbing is what is tested.
 */
class BackendOnRecordingDeviceTest {

    private static void drive(CudaBackend backend, RecordingDevice device) {
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

    private static void awaitNoLiveAllocations(RecordingDevice device) throws InterruptedException {
        for (int i = 0; i < 100 && device.liveAllocations() > 0; i++) {
            System.gc();
            Thread.sleep(20);
        }
    }

    @Test
    void theTinyModelRunsThroughEveryCodePathInHalfAndFullPrecision() throws Exception {
        for (DType w : new DType[] {DType.FLOAT16, DType.FLOAT32, DType.BFLOAT16}) {
            RecordingDevice device = new RecordingDevice(132);
            CudaBackend backend = new CudaBackend(device, new BackendOptions(0, w));
            drive(backend, device);
            String kv = DeviceType.of(w).suffix();
            assertThat(device.launches).as("kernels launched with " + w).containsKeys(
                    "cv_attn_prefill_f32_d32", "cv_attn_decode_" + kv + "_d32", "cv_attn_combine_k", "cv_layernorm_k",
                    "cv_gelu_k", "cv_add_k", "cv_bias_add_k", "cv_channel_mix_k", "cv_copy_axis_k",
                    "cv_gather_rows_k");
            if (w != DType.FLOAT32) {
                assertThat(device.launches).containsKey("cv_convert_k"); // weights and GEMM inputs
            }
            assertThat(device.gemms.get()).isGreaterThan(100);
            awaitNoLiveAllocations(device);
            assertThat(device.liveAllocations()).as("allocations left after closing everything (" + w + ")")
                    .isZero();
            backend.close();
        }
    }

    @Test
    void uploadsAndDownloadsMoveTheBytes() {
        RecordingDevice device = new RecordingDevice(4);
        CudaBackend fp32 = new CudaBackend(device, new BackendOptions(0, DType.FLOAT32));
        float[] values = Reference.gaussian(new java.util.Random(3), 6 * 5, 1.0);
        ByteBuffer direct = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        direct.asFloatBuffer().put(values);
        try (Tensor heap = fp32.upload(TensorData.ofFloats("w", values, 6, 5));
                Tensor mapped = fp32.upload(new TensorData("w", DType.FLOAT32, new int[] {6, 5}, direct));
                Tensor act = fp32.fromFloats(values, 1, 6, 5)) {
            assertThat(fp32.toFloats(heap)).containsExactly(values);
            assertThat(fp32.toFloats(mapped)).containsExactly(values);
            assertThat(fp32.toFloats(act)).containsExactly(values);
            Tensor view = fp32.slice(heap, 0, 2, 3); // shares memory
            heap.close();
            assertThat(fp32.toFloats(view)).containsExactly(Arrays.copyOfRange(values, 10, 25));
            view.close();
        }
        CudaBackend fp16 = new CudaBackend(device, BackendOptions.defaults());
        try (Tensor z = fp16.zeros(2, 3, 4)) {
            assertThat(z.dtype()).isEqualTo(DType.FLOAT16);
            assertThatThrownBy(() -> fp32.gelu(z)).hasMessageContaining("does not belong");
        }
        Tensor closed = fp32.fromFloats(new float[] {1}, 1, 1, 1);
        closed.close();
        assertThatThrownBy(() -> fp32.toFloats(closed)).hasMessageContaining("closed");
        assertThatThrownBy(() -> fp32.upload(new TensorData("i", DType.INT32, new int[] {2},
                ByteBuffer.allocate(8)))).hasMessageContaining("floating-point");
        assertThatThrownBy(() -> fp32.attention(fp32.fromFloats(new float[8], 1, 1, 8),
                fp32.fromFloats(new float[8], 1, 1, 8), fp32.fromFloats(new float[8], 1, 1, 8), 2,
                new io.cogvideo.spi.AttentionMask(2, 1, 0, 0f, false, 0, 0, 4, 2,
                        io.cogvideo.spi.AttentionMask.Scope.ALL_FRAMES, true, 0, 0, false)))
                .hasMessageContaining("do not fit");
    }

    @Test
    void clusterMassValidatesItsInputs() {
        RecordingDevice device = new RecordingDevice(4);
        CudaBackend b = new CudaBackend(device, new BackendOptions(0, DType.FLOAT32));
        try (Tensor l = b.fromFloats(new float[12], 2, 1, 6)) {
            assertThat(b.clusterMass(l, new int[] {0, 1, 1, 2, 0, 2}, 1f)).hasSize(2 * 3);
            assertThat(device.launches).containsKey("cv_cluster_mass_k");
            assertThatThrownBy(() -> b.clusterMass(l, new int[] {0, 1}, 1f)).hasMessageContaining("2 entries");
            assertThatThrownBy(() -> b.clusterMass(l, new int[] {0, 1, 1, 2, 0, -1}, 1f))
                    .hasMessageContaining("negative");
            assertThatThrownBy(() -> b.clusterMass(l, new int[6], 0f)).hasMessageContaining("temperature");
        }
    }
}
