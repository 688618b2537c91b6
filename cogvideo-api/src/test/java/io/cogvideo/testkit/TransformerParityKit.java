package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Golden parity of the CogVideo transformer, run by every backend (subclass it and provide a backend). Every case of
 * the golden manifest becomes a test: uncached prefills compare logits at the stored positions and the per-position
 * fingerprint; cached traces replay the original {@code my_filling_sequence} loop with the forced tokens and compare
 * every sampler step. Tolerance 1e-3 (max abs) as the golden README states.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class TransformerParityKit {
    public static final double TOL = 1e-3;

    protected GoldenSet golden;
    protected Backend backend;
    protected CogVideoModel model;
    protected int startOfImage;
    protected int[] probes;

    /** The backend under test. */
    protected abstract Backend newBackend();

    @BeforeAll
    void setUp() {
        golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        backend = CheckedBackend.wrap(newBackend());
        model = GoldenModels.load(golden, backend);
        startOfImage = golden.manifest().path("special_ids").path("start_of_image").asInt();
        probes = GoldenSet.ints(golden.manifest().get("probe_vocab_ids"));
    }

    @AfterAll
    void tearDown() {
        if (backend != null) {
            backend.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() {
        List<DynamicTest> tests = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = golden.manifest().get("cases").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String kind = e.getValue().path("kind").asText();
            switch (kind) {
                case "prefill" -> tests.add(DynamicTest.dynamicTest(e.getKey(), () -> prefillCase(e.getKey(), e.getValue())));
                case "cached_trace" -> tests.add(DynamicTest.dynamicTest(e.getKey(), () -> tracedCase(e.getKey(), e.getValue())));
                default -> {
                    // other kinds (the sampler) are tested by their own suites
                }
            }
        }
        assertThat(tests).as("golden manifest must contain transformer cases").isNotEmpty();
        return tests.stream();
    }

    private void prefillCase(String name, JsonNode c) {
        JsonNode files = c.get("files");
        int[] ids = golden.npy(files.get("input_ids").asText()).ints();
        int[] pos = golden.npy(files.get("position_ids").asText()).ints();
        int[] rows = golden.npy(files.get("positions").asText()).ints();
        float[] expected = golden.npy(files.get("logits_subset").asText()).floats();
        float[] fp = golden.npy(files.get("fingerprint").asText()).floats();
        int textLen = c.get("text_len").asInt();
        float boost = (float) c.path("log_text_attention_weights").asDouble(0);
        SequenceOptions opts = options(c, boost, false, false);
        int n = ids.length;
        int vocab = model.config().imageVocabSize();
        float[] all;
        try (InferenceState s = model.newState(1, textLen, opts)) {
            all = take(model.prefill(s, new int[][] {ids}, pos, null));
        }
        assertThat(all.length).isEqualTo(n * vocab);
        assertThat(expected.length).isEqualTo(rows.length * vocab);
        double worst = 0;
        for (int r = 0; r < rows.length; r++) {
            for (int j = 0; j < vocab; j++) {
                worst = Math.max(worst, Math.abs(all[rows[r] * vocab + j] - expected[r * vocab + j]));
            }
        }
        assertThat(worst).as(name + ": max |logit error| at stored positions").isLessThanOrEqualTo(TOL);
        int width = 2 + probes.length;
        assertThat(fp.length).isEqualTo(n * width);
        for (int i = 0; i < n; i++) {
            checkFingerprint(name + " position " + i, all, i * vocab, vocab, fp, i * width);
        }
    }

    private void checkFingerprint(String what, float[] logits, int off, int vocab, float[] fp, int fpOff) {
        double lse = Fingerprint.logSumExp(logits, off, vocab);
        assertThat(Math.abs(lse - fp[fpOff])).as(what + ": logsumexp").isLessThanOrEqualTo(TOL);
        for (int p = 0; p < probes.length; p++) {
            assertThat((double) Math.abs(logits[off + probes[p]] - fp[fpOff + 1 + p]))
                    .as(what + ": probe logit of id " + probes[p]).isLessThanOrEqualTo(TOL);
        }
        int expectedArgmax = Math.round(fp[fpOff + 1 + probes.length]);
        assertThat(Fingerprint.argmaxAgrees(logits, off, vocab, expectedArgmax, TOL))
                .as(what + ": argmax " + Fingerprint.argmax(logits, off, vocab) + " vs golden " + expectedArgmax)
                .isTrue();
    }

    private SequenceOptions options(JsonNode c, float boost, boolean imageMode, boolean limited) {
        int stage = c.path("stage").asInt(1);
        int window = c.path("window_size").asInt(-1);
        return new SequenceOptions(stage, window, boost, imageMode, limited);
    }

    /** Position ids as the original {@code get_masks_and_position_ids_stage1/2} build them. */
    private int[] positions(int stage, int textLen, int length) {
        CogVideoConfig cfg = model.config();
        int fl = cfg.frameLength();
        int[] pos = new int[length];
        for (int i = 0; i < length; i++) {
            if (i < textLen) {
                pos[i] = i;
            } else if (stage == 1) {
                pos[i] = CogVideoConfig.FRAME_POSITION_BASE + (i - textLen);
            } else {
                int block = (i - textLen) / fl;
                int[] slot = {0, 2, 4, 1, 3};
                // the very last token of a sequence is never fed, so it has no position (0, as the original)
                pos[i] = block < slot.length ? CogVideoConfig.FRAME_POSITION_BASE + slot[block] * fl + (i - textLen) % fl : 0;
            }
        }
        return pos;
    }

    private void tracedCase(String name, JsonNode c) {
        JsonNode files = c.get("files");
        JsonNode kw = c.path("kwargs");
        int[] seqIn = GoldenSet.ints(c.get("seq_in"));
        int[] tokens = golden.npy(files.get("tokens").asText()).ints();
        float[] steps = golden.npy(files.get("steps").asText()).floats();
        int[] fullSteps = golden.npy(files.get("full_steps").asText()).ints();
        float[] fullLogits = golden.npy(files.get("full_logits").asText()).floats();
        int textLen = c.get("text_len").asInt();
        int stage = c.path("stage").asInt(1);
        float boost = (float) kw.path("log_text_attention_weights").asDouble(0);
        boolean imageMode = kw.path("enforce_no_swin").asBoolean(false);
        boolean limited = kw.path("limited_spatial_channel_mem").asBoolean(false);
        boolean guided = c.has("guider_seq");
        double alpha = c.path("guidance_alpha").asDouble(1);
        int fl = model.config().frameLength();
        int vocab = model.config().imageVocabSize();
        int total = seqIn.length;
        assertThat(tokens.length).isEqualTo(total);

        int given = 0;
        while (given < total && seqIn[given] >= 0) {
            given++;
        }
        int ctx = textLen + (given - textLen) / fl * fl;
        int[] pos = positions(stage, textLen, total);
        int[] input = feed(tokens, textLen, fl);

        SequenceOptions opts = new SequenceOptions(stage, c.path("window_size").asInt(-1), boost, imageMode, limited);
        InferenceState cond = model.newState(1, textLen, opts);
        float[] logits = take(model.prefill(cond, new int[][] {slice(input, 0, ctx)}, slice(pos, 0, ctx),
                new int[] {ctx - 1}));

        InferenceState guider = null;
        int gText = 0;
        int delta = 0;
        int[] gInput = null;
        int[] gPos = null;
        float[] gLogits = null;
        if (guided) {
            int[] gSeq = GoldenSet.ints(c.get("guider_seq"));
            gText = c.get("guider_text_len").asInt();
            delta = textLen - gText;
            int[] gTokens = new int[gSeq.length];
            for (int i = 0; i < gSeq.length; i++) {
                gTokens[i] = i < gText + 1 ? gSeq[i] : tokens[i + delta];
            }
            gInput = feed(gTokens, gText, fl);
            gPos = positions(stage, gText, gSeq.length);
            // The guider's cached steps use boost 0 in the original; its uncached pass uses the call's value.
            assertThat(boost).as("guided traces run with text boost 0").isZero();
            guider = model.newState(1, gText, new SequenceOptions(stage, c.path("window_size").asInt(-1), 0f, imageMode,
                    limited));
            gLogits = take(model.prefill(guider, new int[][] {slice(gInput, 0, ctx - delta)},
                    slice(gPos, 0, ctx - delta), new int[] {ctx - delta - 1}));
        }

        int width = 2 + probes.length;
        int step = 0;
        int full = 0;
        int counter = ctx - 1;
        while (counter < total - 1) {
            float[] l = logits;
            if (guided) {
                l = new float[vocab];
                for (int j = 0; j < vocab; j++) {
                    l[j] = (float) (gLogits[j] + (logits[j] - gLogits[j]) * alpha);
                }
            }
            counter++;
            if (seqIn[counter] < 0) {
                checkFingerprint(name + " step " + step, l, 0, vocab, steps, step * width);
                if (full < fullSteps.length && fullSteps[full] == step) {
                    double worst = 0;
                    for (int j = 0; j < vocab; j++) {
                        worst = Math.max(worst, Math.abs(l[j] - fullLogits[full * vocab + j]));
                    }
                    assertThat(worst).as(name + " full logits at step " + step).isLessThanOrEqualTo(TOL);
                    full++;
                }
                step++;
            }
            if (counter < total - 1) {
                logits = take(model.step(cond, new int[] {input[counter]}, pos[counter]));
                if (guided) {
                    gLogits = take(model.step(guider, new int[] {gInput[counter - delta]},
                            gPos[counter - delta]));
                }
            }
        }
        assertThat(step).as(name + ": sampler steps replayed").isEqualTo(steps.length / width);
        assertThat(full).as(name + ": full-logit steps checked").isEqualTo(fullSteps.length);
        cond.close();
        if (guider != null) {
            guider.close();
        }
    }

    /** The values of a model result, closing it (results are the caller's to close; no leaks in long traces). */
    protected float[] take(Tensor result) {
        try (result) {
            return backend.toFloats(result);
        }
    }

    /** The fed tokens: the sequence with {@code <start_of_image>} in the first slot of every frame block. */
    private int[] feed(int[] seq, int textLen, int frameLength) {
        int[] in = seq.clone();
        for (int i = textLen; i < in.length; i += frameLength) {
            in[i] = startOfImage;
        }
        return in;
    }

    private static int[] slice(int[] a, int from, int to) {
        return java.util.Arrays.copyOfRange(a, from, to);
    }

    /** Stage 1, boost 0: the uncached pass and cached steps over the same tokens agree. */
    @Test
    void prefillAndCachedStepsAgree() {
        JsonNode c = golden.manifest().get("cases").get("s1_prefill");
        org.junit.jupiter.api.Assumptions.assumeTrue(c != null, "no s1_prefill case in this golden set");
        int[] ids = golden.npy(c.get("files").get("input_ids").asText()).ints();
        int[] pos = golden.npy(c.get("files").get("position_ids").asText()).ints();
        int textLen = c.get("text_len").asInt();
        int fl = model.config().frameLength();
        int vocab = model.config().imageVocabSize();
        int n = Math.min(ids.length, textLen + 2 * fl);
        float[] ref;
        try (InferenceState s = model.newState(1, textLen, SequenceOptions.stage1(0f, false))) {
            ref = take(model.prefill(s, new int[][] {slice(ids, 0, n)}, slice(pos, 0, n), null));
        }
        for (boolean limited : new boolean[] {false, true}) {
            try (InferenceState s = model.newState(1, textLen, SequenceOptions.stage1(0f, limited))) {
                int start = textLen + fl; // prefill text + frame 0, then step through frame 1
                float[] last = take(model.prefill(s, new int[][] {slice(ids, 0, start)}, slice(pos, 0, start),
                        new int[] {start - 1}));
                double worst = maxDiff(last, 0, ref, (start - 1) * vocab, vocab);
                for (int i = start; i < n; i++) {
                    float[] l = take(model.step(s, new int[] {ids[i]}, pos[i]));
                    worst = Math.max(worst, maxDiff(l, 0, ref, i * vocab, vocab));
                }
                assertThat(worst).as("prefill vs cached steps (limited cache " + limited + ")").isLessThanOrEqualTo(TOL);
            }
        }
    }

    /** A batch of different sequences gives, row by row, the logits of each sequence run alone (both stages). */
    @Test
    void batchedRowsMatchSingleRows() {
        JsonNode c = golden.manifest().get("cases").get("s1_prefill");
        org.junit.jupiter.api.Assumptions.assumeTrue(c != null, "no s1_prefill case in this golden set");
        int[] ids = golden.npy(c.get("files").get("input_ids").asText()).ints();
        int textLen = c.get("text_len").asInt();
        int fl = model.config().frameLength();
        int vocab = model.config().imageVocabSize();
        int imageTokens = model.config().imageVocabSize();
        for (int stage = 1; stage <= 2; stage++) {
            int given = stage == 1 ? 1 : 3;
            int start = textLen + given * fl;
            int steps = 24;
            int batch = 3;
            int[][] rows = new int[batch][start + steps];
            java.util.SplittableRandom r = new java.util.SplittableRandom(stage);
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < rows[b].length; i++) {
                    boolean frameSlotStart = i >= textLen && (i - textLen) % fl == 0;
                    rows[b][i] = i < textLen ? ids[i] : frameSlotStart ? startOfImage : r.nextInt(imageTokens);
                }
            }
            int[] pos = new int[start + steps];
            for (int i = 0; i < pos.length; i++) {
                pos[i] = io.cogvideo.generation.SequenceLayout.position(stage, textLen, fl, i);
            }
            SequenceOptions opts = stage == 1 ? SequenceOptions.stage1(1.4f, true) : SequenceOptions.stage2(10, 1.4f);
            float[][][] single = new float[batch][steps + 1][];
            for (int b = 0; b < batch; b++) {
                try (InferenceState s = model.newState(1, textLen, opts)) {
                    single[b][0] = take(model.prefill(s, new int[][] {slice(rows[b], 0, start)},
                            slice(pos, 0, start), new int[] {start - 1}));
                    for (int t = 0; t < steps; t++) {
                        single[b][t + 1] = take(model.step(s, new int[] {rows[b][start + t]}, pos[start + t]));
                    }
                }
            }
            try (InferenceState s = model.newState(batch, textLen, opts)) {
                int[][] prefix = new int[batch][];
                for (int b = 0; b < batch; b++) {
                    prefix[b] = slice(rows[b], 0, start);
                }
                float[] l = take(model.prefill(s, prefix, slice(pos, 0, start), new int[] {start - 1}));
                double worst = 0;
                for (int b = 0; b < batch; b++) {
                    worst = Math.max(worst, maxDiff(l, b * vocab, single[b][0], 0, vocab));
                }
                for (int t = 0; t < steps; t++) {
                    int[] tok = new int[batch];
                    for (int b = 0; b < batch; b++) {
                        tok[b] = rows[b][start + t];
                    }
                    l = take(model.step(s, tok, pos[start + t]));
                    for (int b = 0; b < batch; b++) {
                        worst = Math.max(worst, maxDiff(l, b * vocab, single[b][t + 1], 0, vocab));
                    }
                }
                assertThat(worst).as("stage " + stage + ": batched vs single rows").isLessThanOrEqualTo(1e-4);
            }
        }
    }

    private static double maxDiff(float[] a, int ao, float[] b, int bo, int n) {
        double w = 0;
        for (int i = 0; i < n; i++) {
            w = Math.max(w, Math.abs(a[ao + i] - b[bo + i]));
        }
        return w;
    }
}
