package io.cogvideo.examples.demo.recipe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Backend;
import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.training.AdamWOptions;
import io.cogvideo.training.LearningRateSchedule;
import io.cogvideo.training.LossCurve;
import io.cogvideo.training.SafetensorsWriter;
import io.cogvideo.training.TrainableModel;
import io.cogvideo.training.TrainableModels;
import io.cogvideo.training.Trainer;
import io.cogvideo.training.TrainerOptions;
import io.cogvideo.training.TrainingDataset;
import io.cogvideo.training.TrainingExample;
import io.cogvideo.training.TrainingListener;
import io.cogvideo.training.TrainingSample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The transformer half of CogVideo's recipe at demo scale (docs/demo-model.md, spec §2):
 *
 * <ol>
 *   <li>{@link #initImageModel}: a randomly initialised text-to-image transformer (no attention-plus channel), as a
 *       checkpoint folder ({@code model_config.json} + {@code model.safetensors});</li>
 *   <li>{@link #imageModel}: every parameter trained on the videos' first frames in image mode (the CogView2
 *       role);</li>
 *   <li>{@link #stage1}: inherits the image model; the attention-plus channel is added as the original's
 *       {@code reinit} (qkv copied from the base, dense N(0, 0.02), mix logits 0, extra positions copied from frame
 *       0's rows) and only it trains (the base stays bit-identical), on 4-second clips of 5 frames;</li>
 *   <li>{@link #stage2}: the same from the image model with window 6, for interpolation (frames 0, 2, 4 given).</li>
 * </ol>
 *
 * Each phase trains with the project's {@link Trainer} into its own run folder and resumes exactly from it when
 * called again (the run's {@code latest} checkpoint); when done it exports the final weights as float16
 * {@code model.safetensors} + {@code model_config.json} (the folder {@code VideoGenerator.modelDir} loads). Progress
 * (step, loss, ETA, held-out loss) goes to the caller's {@link TrainingListener}.
 *
 * <p>The backend must have the training pack and hold float32 weights ({@code BackendOptions(threads,
 * DType.FLOAT32)}). Not thread-safe.
 */
public final class DemoRecipe {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final RecipeConfig config;
    private final RecipeData data;
    private final Backend backend;

    /**
     * What a phase did.
     *
     * @param steps       updates done in total (this call and before)
     * @param curve       the whole loss curve of the run
     * @param heldOutLoss the last held-out loss (NaN without held-out videos)
     * @param exportDir   the exported checkpoint folder
     * @param elapsed     wall time of this call
     */
    public record PhaseResult(long steps, LossCurve curve, double heldOutLoss, Path exportDir, Duration elapsed) {
    }

    public DemoRecipe(RecipeConfig config, PromptEncoder encoder, Backend backend) {
        this.config = config;
        this.data = new RecipeData(config, encoder);
        this.backend = backend;
    }

    public RecipeConfig config() {
        return config;
    }

    public RecipeData data() {
        return data;
    }

    /**
     * Writes a randomly initialised image model (seeded by {@link RecipeConfig#seed()}): embeddings and linear
     * weights N(0, 0.02) (the output projections of each layer N(0, 0.02 / √(2·layers)), as SAT's scaled init), biases
     * 0, LayerNorms 1 and 0. No {@code mixins.*}: the attention-plus channel is created when stage 1 or 2 inherits.
     *
     * @return {@code dir}
     */
    public Path initImageModel(Path dir) {
        SplittableRandom rng = new SplittableRandom(config.seed());
        Map<String, int[]> shapes = shapes();
        Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
        double scaled = 0.02 / Math.sqrt(2.0 * config.layers());
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("mixins.")) {
                continue;
            }
            int n = 1;
            for (int d : e.getValue()) {
                n *= d;
            }
            float[] v = new float[n];
            if (k.contains("layernorm.weight")) {
                java.util.Arrays.fill(v, 1f);
            } else if (k.endsWith(".weight") && !k.contains("layernorm")) {
                double std = k.endsWith("attention.dense.weight") || k.endsWith("dense_4h_to_h.weight") ? scaled : 0.02;
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (std * gaussian(rng));
                }
            }
            tensors.put(k, new SafetensorsWriter.Entry(v, e.getValue()));
        }
        writeCheckpoint(dir, tensors, config.modelConfig(1, -1), false);
        return dir;
    }

    /** The image model: every parameter on first frames in image mode. */
    public PhaseResult imageModel(List<TrainingSample> videos, Path initDir, Path runDir, Path exportDir,
            TrainingListener listener) {
        TrainableModel model = TrainableModels.cogVideo(initDir, backend, 0f, 0f, config.seed());
        return run(model, data.imageModel(videos), options(config.image(), TrainingExample.IMAGE_MODE, runDir)
                .withTrainEverything(true), runDir, exportDir, listener, false, 1, -1);
    }

    /** Stage 1 from the image model (an exported folder): base frozen, attention-plus trained. */
    public PhaseResult stage1(List<TrainingSample> videos, Path imageModelDir, Path runDir, Path exportDir,
            TrainingListener listener) {
        Path init = inherit(imageModelDir, runDir.resolve("init"), 1, -1);
        TrainableModel model = TrainableModels.cogVideo(init, backend, 0f, 0f, config.seed() + 1);
        return run(model, data.stage1(videos), options(config.stage1(), 1, runDir), runDir, exportDir, listener,
                true, 1, -1);
    }

    /** Stage 2 from the image model (an exported folder): base frozen, window 6, interpolation. */
    public PhaseResult stage2(List<TrainingSample> videos, Path imageModelDir, Path runDir, Path exportDir,
            TrainingListener listener) {
        Path init = inherit(imageModelDir, runDir.resolve("init"), 2, RecipeConfig.WINDOW);
        TrainableModel model = TrainableModels.cogVideo(init, backend, 0f, 0f, config.seed() + 2);
        return run(model, data.stage2(videos), options(config.stage2(), 2, runDir), runDir, exportDir, listener,
                true, 2, RecipeConfig.WINDOW);
    }

    /**
     * The starting folder of a stage: the image model's weights with the stage's {@code model_config.json}
     * ({@code cogvideo_stage}, {@code window_size}); the missing {@code mixins.*} are initialised on load.
     */
    Path inherit(Path imageModelDir, Path init, int stage, int window) {
        try {
            Files.createDirectories(init);
            Path src = imageModelDir.resolve("model.safetensors");
            if (!Files.isRegularFile(src)) {
                throw new CogVideoException("recipe: " + imageModelDir + " has no model.safetensors (train the image"
                        + " model first)");
            }
            Files.copy(src, init.resolve("model.safetensors"), StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(init.resolve("model_config.json"), JSON.writeValueAsString(
                    config.modelConfig(stage, window)));
            return init;
        } catch (IOException e) {
            throw new CogVideoException("recipe: cannot prepare " + init + ": " + e.getMessage(), e);
        }
    }

    private TrainerOptions options(RecipeConfig.Phase p, int stage, Path runDir) {
        return TrainerOptions.defaults(runDir).withStage(stage).withSteps(p.steps()).withBatchSize(p.batchSize())
                .withOptimizer(AdamWOptions.ORIGINAL.withLr(p.lr()))
                .withSchedule(p.warmupFraction(), LearningRateSchedule.Decay.COSINE,
                        LearningRateSchedule.DEFAULT_MIN_RATIO)
                .withClipNorm(p.clipNorm()).withSeed(config.seed() + stage)
                .withEvaluation(p.evalFraction(), p.evalInterval()).withCheckpointInterval(p.checkpointInterval());
    }

    private PhaseResult run(TrainableModel model, TrainingDataset rows, TrainerOptions options, Path runDir,
            Path exportDir, TrainingListener listener, boolean withMixins, int stage, int window) {
        long t0 = System.nanoTime();
        try {
            Files.createDirectories(runDir);
        } catch (IOException e) {
            throw new CogVideoException("recipe: cannot create " + runDir + ": " + e.getMessage(), e);
        }
        Trainer trainer = Files.isRegularFile(runDir.resolve(Trainer.LATEST))
                ? Trainer.resume(model, rows, options, runDir, listener)
                : new Trainer(model, rows, options, listener);
        Trainer.Result r = trainer.run();
        export(model, exportDir, withMixins, stage, window);
        if (model instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new CogVideoException("recipe: cannot release the model: " + e.getMessage(), e);
            }
        }
        return new PhaseResult(r.steps(), r.curve(), r.lastEvalLoss(), exportDir,
                Duration.ofNanos(System.nanoTime() - t0));
    }

    /** Writes the model's weights as float16 {@code model.safetensors} plus {@code model_config.json}. */
    private void export(TrainableModel model, Path dir, boolean withMixins, int stage, int window) {
        Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : model.parameterShapes().entrySet()) {
            if (withMixins || !e.getKey().startsWith("mixins.")) {
                tensors.put(e.getKey(), new SafetensorsWriter.Entry(model.parameter(e.getKey()), e.getValue()));
            }
        }
        writeCheckpoint(dir, tensors, config.modelConfig(stage, window), true);
    }

    private static void writeCheckpoint(Path dir, Map<String, SafetensorsWriter.Entry> tensors,
            Map<String, Object> modelConfig, boolean float16) {
        try {
            Files.createDirectories(dir);
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"), float16);
            Files.writeString(dir.resolve("model_config.json"), JSON.writeValueAsString(modelConfig));
        } catch (IOException e) {
            throw new CogVideoException("recipe: cannot write the checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Every state-dict key with its shape (the training model's order). */
    private Map<String, int[]> shapes() {
        int h = config.hidden();
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("transformer.word_embeddings.weight", new int[] {config.vocabSize(), h});
        m.put("transformer.position_embeddings.weight", new int[] {RecipeConfig.MAX_SEQUENCE_LENGTH, h});
        for (int i = 0; i < config.layers(); i++) {
            String p = "transformer.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new int[] {h});
            m.put(p + "input_layernorm.bias", new int[] {h});
            m.put(p + "attention.query_key_value.weight", new int[] {3 * h, h});
            m.put(p + "attention.query_key_value.bias", new int[] {3 * h});
            m.put(p + "attention.dense.weight", new int[] {h, h});
            m.put(p + "attention.dense.bias", new int[] {h});
            m.put(p + "third_layernorm.weight", new int[] {h});
            m.put(p + "third_layernorm.bias", new int[] {h});
            m.put(p + "post_attention_layernorm.weight", new int[] {h});
            m.put(p + "post_attention_layernorm.bias", new int[] {h});
            m.put(p + "mlp.dense_h_to_4h.weight", new int[] {4 * h, h});
            m.put(p + "mlp.dense_h_to_4h.bias", new int[] {4 * h});
            m.put(p + "mlp.dense_4h_to_h.weight", new int[] {h, 4 * h});
            m.put(p + "mlp.dense_4h_to_h.bias", new int[] {h});
            m.put(p + "fourth_layernorm.weight", new int[] {h});
            m.put(p + "fourth_layernorm.bias", new int[] {h});
        }
        m.put("transformer.final_layernorm.weight", new int[] {h});
        m.put("transformer.final_layernorm.bias", new int[] {h});
        return m;
    }

    private static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
