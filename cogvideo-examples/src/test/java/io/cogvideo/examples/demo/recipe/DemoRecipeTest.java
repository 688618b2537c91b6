package io.cogvideo.examples.demo.recipe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.model.CogVideoTrainable;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.DType;
import io.cogvideo.training.TrainableModels;
import io.cogvideo.training.TrainingDataset;
import io.cogvideo.training.TrainingExample;
import io.cogvideo.training.TrainingListener;
import io.cogvideo.training.TrainingSample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recipe on a tiny model and the toy token world: the checkpoint folders (keys of model_config.json, float16
 * export), inheritance (the original's reinit of the new channel), freezing (base bit-identical after stage 1 and 2),
 * exact resume, and the rows of each phase.
 */
class DemoRecipeTest {
    private static final ToyWorld.CharEncoder ENC = new ToyWorld.CharEncoder();
    private static Backend backend;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        backend = Backends.create("cpu", new BackendOptions(1, DType.FLOAT32));
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static RecipeConfig tiny(long steps) {
        RecipeConfig d = RecipeConfig.defaults(ENC.size(), ENC.pad, ENC.startOfImage).withSize(1, 16, 2);
        RecipeConfig.Phase p = new RecipeConfig.Phase(steps, 2, 1e-2, 0, 1.0, 0.1, 100, 2);
        return d.withPhases(p, p, p);
    }

    private static List<TrainingSample> videos() {
        return ToyWorld.videos(1, 3).subList(0, 10);
    }

    private static float[] tensor(Path dir, String key) {
        try (StateDict r = SafetensorsReader.read(dir.resolve("model.safetensors"))) {
            return r.get(key).toFloatArray();
        }
    }

    private static Set<String> keys(Path dir) {
        try (StateDict r = SafetensorsReader.read(dir.resolve("model.safetensors"))) {
            return new HashSet<>(r.keys());
        }
    }

    @Test
    void imageModelThenStagesInheritFreezeAndExport() throws Exception {
        DemoRecipe recipe = new DemoRecipe(tiny(2), ENC, backend);
        Path init = recipe.initImageModel(tmp.resolve("init"));
        DemoRecipe.PhaseResult img = recipe.imageModel(videos(), init, tmp.resolve("run-image"),
                tmp.resolve("image-model"), TrainingListener.NONE);
        assertEquals(2, img.steps());
        assertTrue(Double.isFinite(img.heldOutLoss()));
        Path image = tmp.resolve("image-model");
        assertTrue(keys(image).stream().noneMatch(k -> k.startsWith("mixins.")), "the image model has no new channel");
        String qkv = "transformer.layers.0.attention.query_key_value.weight";
        assertFalse(Arrays.equals(tensor(init, qkv), tensor(image, qkv)), "the image phase trains the base");

        // inheritance: the original's reinit of the missing channel
        Path s1init = recipe.inherit(image, tmp.resolve("s1-init"), 1, -1);
        try (CogVideoTrainable m = (CogVideoTrainable) TrainableModels.cogVideo(s1init, backend)) {
            assertTrue(m.initialisedKeys().contains("mixins.attention_plus.query_key_value.0.weight"));
            assertArrayEquals(m.parameter(qkv), m.parameter("mixins.attention_plus.query_key_value.0.weight"));
            assertArrayEquals(new float[16], m.parameter("mixins.attention_plus.attn_distribution.0"));
            float[] pos = m.parameter("transformer.position_embeddings.weight");
            float[] extra = m.parameter("mixins.extra_position_embedding.position_embeddings.weight");
            int h = 16;
            int row = 2 * RecipeConfig.FRAME_LENGTH + 5; // frame 3, token 5 copies frame 0's token 5 (row 512 + 5)
            assertArrayEquals(Arrays.copyOfRange(pos, (512 + 5) * h, (512 + 6) * h),
                    Arrays.copyOfRange(extra, row * h, (row + 1) * h));
            float[] dense = m.parameter("mixins.attention_plus.dense.0.weight");
            double sd = Math.sqrt(Arrays.stream(toDouble(dense)).map(x -> x * x).average().orElse(0));
            assertEquals(0.02, sd, 0.006, "dense N(0, 0.02)");
        }

        for (int stage = 1; stage <= 2; stage++) {
            Path out = tmp.resolve("stage" + stage);
            DemoRecipe.PhaseResult r = stage == 1
                    ? recipe.stage1(videos(), image, tmp.resolve("run-s1"), out, TrainingListener.NONE)
                    : recipe.stage2(videos(), image, tmp.resolve("run-s2"), out, TrainingListener.NONE);
            assertEquals(2, r.steps());
            for (String k : keys(image)) { // frozen: bit-identical (float16 -> float32 -> float16 is exact)
                assertArrayEquals(tensor(image, k), tensor(out, k), "stage " + stage + " " + k);
            }
            assertFalse(Arrays.equals(tensor(image, qkv), tensor(out, "mixins.attention_plus.query_key_value.0.weight")),
                    "stage " + stage + " trains the new channel");
            JsonNode cfg = new ObjectMapper().readTree(out.resolve("model_config.json").toFile());
            assertEquals(stage, cfg.get("cogvideo_stage").asInt());
            assertEquals(stage == 1 ? -1 : 6, cfg.get("window_size").asInt());
            assertEquals(512, cfg.get("image_vocab_size").asInt());
            assertEquals(512 + ENC.size(), cfg.get("vocab_size").asInt());
            assertEquals(656, cfg.get("max_sequence_length").asInt());
            assertEquals(576, cfg.get("additional_seqlen").asInt());
            assertEquals("[32,176,752]", cfg.get("layout").toString());
            try (StateDict rd = SafetensorsReader.read(out.resolve("model.safetensors"))) {
                assertEquals(DType.FLOAT16, rd.get(qkv).dtype(), "exported as float16");
            }
            // the generator's loader reads it
            io.cogvideo.model.CogVideoModel.load(out, backend).weights().close();
        }
    }

    @Test
    void aResumedPhaseEndsBitIdenticalToAnUninterruptedOne() throws Exception {
        DemoRecipe recipe = new DemoRecipe(tiny(4), ENC, backend);
        Path init = recipe.initImageModel(tmp.resolve("init"));
        recipe.imageModel(videos(), init, tmp.resolve("a"), tmp.resolve("a-out"), TrainingListener.NONE);
        recipe.imageModel(videos(), init, tmp.resolve("b"), tmp.resolve("b-out"), TrainingListener.NONE);
        // pretend run b stopped after its checkpoint at step 2
        Files.writeString(tmp.resolve("b").resolve("latest"), "checkpoint-000002");
        DemoRecipe.PhaseResult r = recipe.imageModel(videos(), init, tmp.resolve("b"), tmp.resolve("b-out2"),
                TrainingListener.NONE);
        assertEquals(4, r.steps());
        for (String k : keys(tmp.resolve("a-out"))) {
            assertArrayEquals(tensor(tmp.resolve("a-out"), k), tensor(tmp.resolve("b-out2"), k), k);
        }
    }

    @Test
    void rowsOfEachPhase() {
        RecipeData data = new RecipeData(tiny(1), ENC);
        List<TrainingSample> v = videos();
        int t = RecipeConfig.TEXT_SLOTS;
        TrainingDataset img = data.imageModel(v);
        TrainingExample e = img.example(0, 1);
        assertEquals(TrainingExample.IMAGE_MODE, e.stage());
        assertEquals(t + 144, e.length());
        int[] suffix = ENC.encode(RecipeData.IMAGE_SUFFIX);
        assertArrayEquals(suffix, Arrays.copyOfRange(e.inputIds(), t - suffix.length, t));
        assertArrayEquals(v.get(0).frameTokens(0), Arrays.copyOfRange(e.labels(), t, t + 144));

        int[] four = ENC.duration(4.0);
        int[] video = ENC.encode(RecipeData.VIDEO_SUFFIX);
        int uncond = 0;
        int withSuffix = 0;
        int n = 400;
        for (int s = 0; s < n; s++) {
            TrainingExample x = data.stage1(v).example(s % v.size(), s);
            int[] text = Arrays.copyOfRange(x.inputIds(), x.textPadding(), t);
            assertArrayEquals(four, Arrays.copyOf(text, four.length), "stage 1 is 4-second clips");
            int[] tail = Arrays.copyOfRange(text, text.length - video.length, text.length);
            if (text.length == four.length + 1 + 2) {
                uncond++;
            } else if (Arrays.equals(tail, video)) {
                withSuffix++;
            }
        }
        assertEquals(0.1, uncond / (double) n, 0.05, "unconditional rows");
        assertEquals(0.45, withSuffix / (double) n, 0.08, "rows with the video suffix");
        Set<Integer> durations = new HashSet<>();
        for (int s = 0; s < 60; s++) {
            TrainingExample x = data.stage2(v).example(s % v.size(), s);
            assertEquals(2, x.stage());
            durations.add(x.inputIds()[x.textPadding()]);
        }
        assertEquals(Set.of(ENC.encode("2")[0], ENC.encode("1")[0], ENC.encode("0")[0]), durations,
                "stage 2 sees 2.0, 1.0 and 0.5 s");
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
