package io.cogvideo.training;

import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.WeightSource;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.TensorData;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * A micro CogVideo model with random weights and rows in the training layout, for fast training tests: 2 layers,
 * hidden 8, 2 heads, 4 text slots, 5 frames of a 4x4 grid (window 2), 40 ids of which 30 image tokens.
 */
final class MicroModels {
    static final int TEXT = 4;
    static final int GRID = 4;
    static final int FRAME = GRID * GRID;
    static final int FRAMES = 5;
    static final int IMAGE_VOCAB = 30;
    static final int PAD = 39;
    static final int START_OF_IMAGE = 35;

    private MicroModels() {
    }

    static CogVideoConfig config() {
        return new CogVideoConfig(2, 8, 2, 40, 512 + FRAME, (FRAMES - 1) * FRAME, TEXT, FRAME, FRAMES, GRID / 2, 1,
                IMAGE_VOCAB, 1e-5f);
    }

    static CogVideoModel model(Backend backend, long seed) {
        return model(backend, seed, null, 0, 0f);
    }

    /** {@link #model(Backend, long)} with element {@code index} of parameter {@code key} moved by {@code delta}. */
    static CogVideoModel model(Backend backend, long seed, String key, int index, float delta) {
        CogVideoConfig c = config();
        Random r = new Random(seed);
        Map<String, TensorData> map = new HashMap<>();
        for (Map.Entry<String, int[]> e : CogVideoTraining.parameterShapes(c).entrySet()) {
            int n = (int) TensorData.numel(e.getValue());
            float[] v = new float[n];
            boolean norm = e.getKey().contains("layernorm.weight");
            for (int i = 0; i < n; i++) {
                v[i] = norm ? 1f + 0.1f * (float) r.nextGaussian() : 0.3f * (float) r.nextGaussian();
            }
            if (e.getKey().equals(key)) {
                v[index] += delta;
            }
            map.put(e.getKey(), TensorData.ofFloats(e.getKey(), v, e.getValue()));
        }
        return new CogVideoModel(c, CogVideoWeights.load(c, WeightSource.of(map, "micro"), backend), backend);
    }

    /** A row in the training layout: {@code pad} leading pads, random text and frames, loss on the stage's frames. */
    static TrainingExample row(int stage, int pad, long seed) {
        Random r = new Random(seed);
        int n = TEXT + FRAMES * FRAME;
        int[] raw = new int[n + 1];
        for (int i = 0; i < TEXT; i++) {
            raw[i] = i < pad ? PAD : IMAGE_VOCAB + r.nextInt(5);
        }
        raw[TEXT] = START_OF_IMAGE;
        for (int i = TEXT + 1; i <= n; i++) {
            raw[i] = r.nextInt(IMAGE_VOCAB);
        }
        int[] input = new int[n];
        int[] labels = new int[n];
        float[] mask = new float[n];
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            input[i] = raw[i];
            labels[i] = raw[i + 1];
        }
        for (int k = 0; k < FRAMES; k++) {
            input[TEXT + k * FRAME] = START_OF_IMAGE;
            boolean trained = stage == 1 ? k >= 1 : k % 2 == 1;
            for (int i = 0; i < FRAME; i++) {
                mask[TEXT + k * FRAME + i] = trained ? 1f : 0f;
                pos[TEXT + k * FRAME + i] = 512 + k * FRAME + i;
            }
        }
        for (int i = pad; i < TEXT; i++) {
            pos[i] = i - pad;
        }
        return new TrainingExample(stage, input, labels, mask, pos, pad);
    }
}
