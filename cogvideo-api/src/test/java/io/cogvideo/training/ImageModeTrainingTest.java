package io.cogvideo.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.testkit.ReferenceBackend;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Image-mode training rows (stage {@link TrainingExample#IMAGE_MODE}, the image model of the recipe) are exactly the
 * first frame's inference: the training loss of a row equals the cross-entropy of the image-mode prefill logits on
 * the same tokens, the attention-plus channel gets no gradient, and the base gradient matches finite differences.
 */
class ImageModeTrainingTest {
    private CheckedBackend backend;

    @BeforeEach
    void open() {
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    }

    @AfterEach
    void close() {
        backend.close();
    }

    private static TrainingLayout layout() {
        return new TrainingLayout(MicroModels.TEXT, MicroModels.FRAME, MicroModels.FRAMES, MicroModels.PAD,
                MicroModels.START_OF_IMAGE);
    }

    private static int[] frame(long seed) {
        Random r = new Random(seed);
        int[] f = new int[MicroModels.FRAME];
        for (int i = 0; i < f.length; i++) {
            f[i] = r.nextInt(MicroModels.IMAGE_VOCAB);
        }
        return f;
    }

    @Test
    void imageExampleHasTheFirstFrameLayout() {
        int[] text = {31, 32};
        int[] frame = frame(3);
        TrainingExample e = layout().imageExample(text, frame);
        int t = MicroModels.TEXT;
        assertEquals(TrainingExample.IMAGE_MODE, e.stage());
        assertEquals(t + MicroModels.FRAME, e.length());
        assertEquals(2, e.textPadding());
        assertEquals(MicroModels.START_OF_IMAGE, e.inputIds()[t]);
        assertEquals(frame[0], e.labels()[t]);
        assertEquals(frame[MicroModels.FRAME - 1], e.labels()[e.length() - 1]);
        assertEquals(frame[4], e.inputIds()[t + 5]);
        assertEquals(MicroModels.FRAME, e.lossTokens(), 0);
        assertEquals(0, e.lossMask()[t - 1], 0);
        assertEquals(1, e.positionIds()[t - 1]);
        assertEquals(512 + 7, e.positionIds()[t + 7]);
        assertThrows(CogVideoException.class, () -> layout().imageExample(text, new int[3]));
    }

    @Test
    void trainingLossEqualsCrossEntropyOfTheImageModePrefill() {
        CogVideoModel model = MicroModels.model(backend, 11);
        CogVideoConfig c = model.config();
        for (int[] text : new int[][] {{31, 33}, {30, 34, 32, 31}}) {
            int[] frame = frame(text.length);
            TrainingExample e = layout().imageExample(text, frame);
            CogVideoTraining.Result r = new CogVideoTraining(model, CogVideoTraining.Options.defaults())
                    .lossAndGradients(java.util.List.of(e), Set.of());
            // the inference model: text unpadded, <start_of_image>, frame tokens 0..L-2; logits of every frame row
            int tl = text.length;
            int n = tl + c.frameLength();
            int[] ids = new int[n];
            System.arraycopy(text, 0, ids, 0, tl);
            ids[tl] = MicroModels.START_OF_IMAGE;
            System.arraycopy(frame, 0, ids, tl + 1, c.frameLength() - 1);
            int[] pos = new int[n];
            int[] rows = new int[c.frameLength()];
            for (int i = 0; i < n; i++) {
                pos[i] = i < tl ? i : 512 + (i - tl);
            }
            for (int j = 0; j < rows.length; j++) {
                rows[j] = tl + j;
            }
            double ce = 0;
            try (InferenceState s = model.newState(1, tl, SequenceOptions.firstFrame(0f));
                    Tensor logits = model.prefill(s, new int[][] {ids}, pos, rows)) {
                float[] l = backend.toFloats(logits); // [1, L, imageVocab]
                int v = c.imageVocabSize();
                for (int j = 0; j < rows.length; j++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < v; k++) {
                        max = Math.max(max, l[j * v + k]);
                    }
                    double sum = 0;
                    for (int k = 0; k < v; k++) {
                        sum += Math.exp(l[j * v + k] - max);
                    }
                    ce += max + Math.log(sum) - l[j * v + frame[j]];
                }
            }
            ce /= rows.length;
            assertTrue(ce > 0.5, "a random model's loss is not small: " + ce);
            assertEquals(ce, r.loss(), 1e-4, "text of " + tl + " tokens");
            assertEquals(Map.of("IMG_loss", r.frameLosses()[0]), r.loggedFrameLosses());
        }
        model.weights().close();
    }

    @Test
    void imageModeGradientsSkipThePlusChannelAndMatchFiniteDifferences() {
        CogVideoModel model = MicroModels.model(backend, 5);
        CogVideoConfig c = model.config();
        TrainingExample e = layout().imageExample(new int[] {31, 32, 33}, frame(9));
        String key = "transformer.layers.1.attention.query_key_value.weight";
        String plus = "mixins.attention_plus.query_key_value.1.weight";
        String mix = "mixins.attention_plus.attn_distribution.0";
        CogVideoTraining.Result r = new CogVideoTraining(model, CogVideoTraining.Options.defaults())
                .lossAndGradients(java.util.List.of(e), Set.of(key, plus, mix));
        assertTrue(Arrays.stream(toDouble(r.gradients().get(plus))).allMatch(g -> g == 0), "plus qkv unused");
        assertTrue(Arrays.stream(toDouble(r.gradients().get(mix))).allMatch(g -> g == 0), "mix logits unused");
        float[] g = r.gradients().get(key);
        double norm = Arrays.stream(toDouble(g)).map(Math::abs).max().orElse(0);
        assertTrue(norm > 1e-4, "the base qkv has a gradient: " + norm);
        model.weights().close();
        // finite differences on the largest-gradient element, through the micro model's weight map
        int idx = 0;
        for (int i = 0; i < g.length; i++) {
            if (Math.abs(g[i]) > Math.abs(g[idx])) {
                idx = i;
            }
        }
        double eps = 1e-3;
        double lp = lossWith(c, e, key, idx, eps);
        double lm = lossWith(c, e, key, idx, -eps);
        assertEquals((lp - lm) / (2 * eps), g[idx], 2e-3 + 0.02 * Math.abs(g[idx]));
    }

    private double lossWith(CogVideoConfig c, TrainingExample e, String key, int idx, double delta) {
        CogVideoModel m = MicroModels.model(backend, 5, key, idx, (float) delta);
        try {
            return new CogVideoTraining(m, CogVideoTraining.Options.defaults()).lossAndGradients(java.util.List.of(e),
                    Set.of()).loss();
        } finally {
            m.weights().close();
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
