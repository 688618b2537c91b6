package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Half-precision weights (the default storage) against the golden fp32 logits and against this backend's own fp32
 * parity mode, through the checked SPI. Stated tolerance (fp16 weights, fp16-rounded GEMM inputs, KV caches as the
 * model asks for them (FLOAT32 since the explicit-cache SPI; fp16 before), fp32 accumulation): max abs
 * logit error <= {@value #MAX_ABS} and relative L2 error <= {@value #MAX_REL} on logits of magnitude ~20; bfloat16
 * (8-bit mantissa) gets 4x that. These bounds are a design estimate, not yet measured on a GPU.
 */
@ExtendWith(RequiresCuda.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaFp16ParityTest {
    static final double MAX_ABS = 0.1;
    static final double MAX_REL = 5e-3;

    private GoldenSet golden;
    private Backend fp32;
    private Backend fp16;
    private Backend bf16;

    @BeforeAll
    void setUp() {
        golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        fp32 = CheckedBackend.wrap(new CudaBackendProvider().create(new BackendOptions(0, DType.FLOAT32)));
        fp16 = CheckedBackend.wrap(new CudaBackendProvider().create(BackendOptions.defaults()));
        bf16 = CheckedBackend.wrap(new CudaBackendProvider().create(new BackendOptions(0, DType.BFLOAT16)));
    }

    @AfterAll
    void tearDown() {
        for (Backend b : new Backend[] {fp32, fp16, bf16}) {
            if (b != null) {
                b.close();
            }
        }
    }

    private float[] prefillLogits(Backend backend, String caseName) {
        JsonNode c = golden.manifest().get("cases").get(caseName);
        int[] ids = golden.npy(c.get("files").get("input_ids").asText()).ints();
        int[] pos = golden.npy(c.get("files").get("position_ids").asText()).ints();
        float boost = (float) c.path("log_text_attention_weights").asDouble(0);
        CogVideoModel model = GoldenModels.load(golden, backend);
        try (InferenceState s = model.newState(1, c.get("text_len").asInt(), SequenceOptions.stage1(boost, false))) {
            try (Tensor logits = model.prefill(s, new int[][] {ids}, pos, null)) {
                return backend.toFloats(logits);
            }
        } finally {
            model.weights().close();
        }
    }

    @Test
    void halfWeightsStayCloseToTheGoldenLogits() {
        for (String name : new String[] {"s1_prefill", "s1_prefill_boost"}) {
            JsonNode c = golden.manifest().get("cases").get(name);
            int[] rows = golden.npy(c.get("files").get("positions").asText()).ints();
            float[] expected = golden.npy(c.get("files").get("logits_subset").asText()).floats();
            int vocab = expected.length / rows.length;
            for (Backend b : new Backend[] {fp16, bf16}) {
                float[] all = prefillLogits(b, name);
                float[] got = new float[expected.length];
                for (int r = 0; r < rows.length; r++) {
                    System.arraycopy(all, rows[r] * vocab, got, r * vocab, vocab);
                }
                double scale = b == bf16 ? 4 : 1;
                assertThat(Reference.maxAbsError(got, expected)).as(name + " on " + b.description())
                        .isLessThanOrEqualTo(MAX_ABS * scale);
                assertThat(Reference.relativeError(got, expected)).as(name + " on " + b.description())
                        .isLessThanOrEqualTo(MAX_REL * scale);
            }
        }
    }

    @Test
    void halfWeightsFollowTheFp32ModeThroughCachedSteps() {
        JsonNode c = golden.manifest().get("cases").get("s1_prefill");
        int[] ids = golden.npy(c.get("files").get("input_ids").asText()).ints();
        int[] pos = golden.npy(c.get("files").get("position_ids").asText()).ints();
        int text = c.get("text_len").asInt();
        float[][] logits = new float[2][];
        Backend[] backends = {fp32, fp16};
        for (int i = 0; i < 2; i++) {
            CogVideoModel model = GoldenModels.load(golden, backends[i]);
            int fl = model.config().frameLength();
            int start = text + fl;
            try (InferenceState s = model.newState(1, text, SequenceOptions.stage1(1.4f, true))) {
                model.prefill(s, new int[][] {Arrays.copyOf(ids, start)}, Arrays.copyOf(pos, start),
                        new int[] {start - 1}).close();
                float[] last = null;
                for (int t = start; t < start + 40; t++) {
                    try (Tensor l = model.step(s, new int[] {ids[t]}, pos[t])) {
                        last = backends[i].toFloats(l);
                    }
                }
                logits[i] = last;
            } finally {
                model.weights().close();
            }
        }
        assertThat(Reference.maxAbsError(logits[1], logits[0])).isLessThanOrEqualTo(MAX_ABS);
        assertThat(Reference.relativeError(logits[1], logits[0])).isLessThanOrEqualTo(MAX_REL);
    }
}
