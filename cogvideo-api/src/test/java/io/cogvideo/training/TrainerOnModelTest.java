package io.cogvideo.training;

import io.cogvideo.testkit.ReferenceBackend;
import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.spi.CheckedBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Trainer} on the CogVideo model itself ({@link TrainableModels#cogVideo}, the one model definition through the
 * training pack), on the micro configuration of {@link MicroModels} written as a checkpoint folder: memorisation of a
 * fixed batch with AdamW, and exact resume.
 */
class TrainerOnModelTest {
    @TempDir
    Path tmp;

    private CheckedBackend backend;

    @BeforeEach
    void open() {
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    }

    @AfterEach
    void close() {
        backend.close();
    }

    /** The micro model's random weights as a checkpoint folder (model_config.json + model.safetensors). */
    static Path microCheckpoint(Path dir, long seed) throws IOException {
        CogVideoConfig c = MicroModels.config();
        Files.createDirectories(dir);
        Random r = new Random(seed);
        Map<String, SafetensorsWriter.Entry> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : CogVideoTraining.parameterShapes(c).entrySet()) {
            int n = 1;
            for (int d : e.getValue()) {
                n *= d;
            }
            float[] v = new float[n];
            boolean norm = e.getKey().contains("layernorm.weight");
            for (int i = 0; i < n; i++) {
                v[i] = norm ? 1f + 0.1f * (float) r.nextGaussian() : 0.3f * (float) r.nextGaussian();
            }
            tensors.put(e.getKey(), new SafetensorsWriter.Entry(v, e.getValue()));
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        int t = MicroModels.TEXT;
        int f = MicroModels.FRAME;
        String json = "{\"num_layers\": 2, \"hidden_size\": 8, \"num_attention_heads\": 2, \"vocab_size\": 40,"
                + " \"image_vocab_size\": " + MicroModels.IMAGE_VOCAB + ", \"max_sequence_length\": " + (512 + f)
                + ", \"additional_seqlen\": " + (MicroModels.FRAMES - 1) * f + ", \"layout\": [" + t + ", " + (t + f)
                + ", " + (t + MicroModels.FRAMES * f) + "], \"window_size\": " + MicroModels.GRID / 2
                + ", \"cogvideo_stage\": 1, \"layernorm_order\": \"sandwich\"}";
        Files.writeString(dir.resolve("model_config.json"), json, StandardCharsets.UTF_8);
        return dir;
    }

    private static TrainingDataset fixedBatch(int rows) {
        List<TrainingExample> ex = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            ex.add(MicroModels.row(1, i % 2, 100 + i));
        }
        return TrainingDataset.of(ex);
    }

    private static TrainerOptions options(Path out, long steps) {
        return TrainerOptions.defaults(out).withSteps(steps).withBatchSize(2)
                .withOptimizer(AdamWOptions.ORIGINAL.withLr(3e-2)).withClipNorm(1.0).withEvaluation(0, 1000)
                .withCheckpointInterval(10).withTrainEverything(true).withSeed(7);
    }

    @Test
    void twoHundredAdamWStepsMemoriseAFixedStage1Batch() throws IOException {
        TrainableModel model = TrainableModels.cogVideo(microCheckpoint(tmp.resolve("init"), 1), backend);
        Trainer.Result r = new Trainer(model, fixedBatch(2), options(tmp.resolve("out"), 200).withCheckpointInterval(200),
                TrainingListener.NONE).run();
        List<LossCurve.Point> p = r.curve().points();
        double first = p.get(0).loss();
        double last = p.get(p.size() - 1).loss();
        System.out.printf("micro stage-1 memorisation: loss %.4f -> %.4f over %d AdamW steps (%.1f%% lower)%n",
                first, last, p.size(), 100 * (1 - last / first));
        assertThat(p).hasSize(200);
        assertThat(last).as("loss after 200 steps vs %s at the start", first).isLessThan(0.1 * first);
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    @Test
    void resumingFromACheckpointGivesTheSameNextTenLosses() throws IOException {
        Path init = microCheckpoint(tmp.resolve("init"), 2);
        TrainableModel straight = TrainableModels.cogVideo(init, backend);
        List<LossCurve.Point> all = new Trainer(straight, fixedBatch(4), options(tmp.resolve("a"), 20),
                TrainingListener.NONE).run().curve().points();

        TrainableModel first = TrainableModels.cogVideo(init, backend);
        new Trainer(first, fixedBatch(4), options(tmp.resolve("b"), 20), TrainingListener.NONE).runUntil(10);
        // a fresh model from the original weights: everything the run needs comes from the checkpoint
        TrainableModel again = TrainableModels.cogVideo(init, backend);
        List<LossCurve.Point> resumed = Trainer.resume(again, fixedBatch(4), options(tmp.resolve("b"), 20),
                tmp.resolve("b"), TrainingListener.NONE).run().curve().points();
        assertThat(resumed).hasSize(20);
        for (int i = 10; i < 20; i++) {
            assertThat(resumed.get(i).loss()).as("loss of step %d after resume", i + 1).isEqualTo(all.get(i).loss());
        }
    }
}
