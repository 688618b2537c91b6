package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.GenerationRequest;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import io.cogvideo.testkit.TinyPromptEncoder;
import io.cogvideo.training.TrainableModel;
import io.cogvideo.training.TrainableModels;
import io.cogvideo.training.Trainer;
import io.cogvideo.training.TrainerOptions;
import io.cogvideo.training.TrainingDataset;
import io.cogvideo.training.TrainingLayout;
import io.cogvideo.training.TrainingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paper's recipe end to end on the CPU backend: finetune the tiny golden checkpoint's attention-plus channel
 * (the original's frozen set stays bit-identical) on the golden training rows, then load the checkpoint the trainer
 * wrote in {@link VideoGenerator} and generate key frames with it.
 */
class CpuTrainThenGenerateTest {
    @TempDir
    Path tmp;

    @Test
    void aTrainedCheckpointLoadsInVideoGeneratorAndGenerates() {
        GoldenSet golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        Path rows = Path.of(System.getProperty("cogvideo.golden.train", "../../shared/golden/train-tiny-a"))
                .resolve("s1_train_raw_rows.npy");
        Assumptions.assumeTrue(Files.isRegularFile(rows), "golden training rows absent: " + rows);
        int soi = golden.manifest().path("special_ids").path("start_of_image").asInt();
        int pad = 20003;
        CogVideoConfig c = GoldenModels.config(golden);
        try (CheckedBackend backend = CheckedBackend.wrap(new CpuBackendProvider().create(
                new BackendOptions(0, DType.FLOAT32)))) {
            TrainableModel model = TrainableModels.cogVideo(golden.dir().resolve("checkpoint"), backend);
            Map<String, float[]> before = new HashMap<>();
            for (String k : model.parameterShapes().keySet()) {
                before.put(k, model.parameter(k));
            }
            TrainingDataset data = TrainingDataset.rawRows(rows,
                    new TrainingLayout(c.textSlots(), c.frameLength(), c.frameCount(), pad, soi), 1);
            Trainer.Result r = new Trainer(model, data, TrainerOptions.defaults(tmp.resolve("run")).withSteps(2)
                    .withBatchSize(1).withEvaluation(0, 100).withCheckpointInterval(2), TrainingListener.NONE).run();
            assertThat(r.steps()).isEqualTo(2);
            for (String k : model.parameterShapes().keySet()) {
                if (model.recipeTrainableKeys().contains(k)) {
                    continue;
                }
                assertThat(model.parameter(k)).as("frozen %s", k).isEqualTo(before.get(k));
            }
            assertThat(model.recipeTrainableKeys()).anyMatch(k -> !java.util.Arrays.equals(model.parameter(k),
                    before.get(k)));

            Path checkpoint = r.lastCheckpoint();
            try (VideoGenerator g = VideoGenerator.builder().modelDir(checkpoint)
                    .promptEncoder(new TinyPromptEncoder(c.imageVocabSize(), soi)).backend(backend).build()) {
                Video v = g.generate(GenerationRequest.builder().prompt("一只猫").guidance(false).frameRate(1)
                        .seed(1).build());
                assertThat(v.frameCount()).isEqualTo(5);
                for (int f = 0; f < 5; f++) {
                    int[] tokens = v.frameTokens(0, f);
                    assertThat(tokens).hasSize(c.frameLength());
                    assertThat(java.util.Arrays.stream(tokens).min().getAsInt()).isGreaterThanOrEqualTo(0);
                    assertThat(java.util.Arrays.stream(tokens).max().getAsInt()).isLessThan(c.imageVocabSize());
                }
            }
        }
    }
}
