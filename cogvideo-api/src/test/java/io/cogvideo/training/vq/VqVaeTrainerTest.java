package io.cogvideo.training.vq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.testkit.ReferenceBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VqVaeTrainerTest {
    static final VqArchitecture TINY = new VqArchitecture(32, 32, 8, 32, List.of(1, 1, 1), 1, List.of(1, 1, 1, 1));

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

    @Test
    void resumedRunEndsWithTheWeightsOfAnUninterruptedOne() throws Exception {
        ShapeImages world = new ShapeImages(24);
        VqTrainerOptions o = new VqTrainerOptions(4, 2, 16, 3e-3, 1, 0.25, 0.9, 2, 17, 2);
        VqVaeTrainer full = VqVaeTrainer.start(backend, TINY, world, o);
        full.train(null, tmp.resolve("full"));
        assertThat(Files.exists(tmp.resolve("full/vq-step-2.safetensors"))).isTrue();

        VqVaeTrainer resumed = VqVaeTrainer.resume(backend, TINY, world, o, tmp.resolve("full/vq-step-2.safetensors"));
        assertThat(resumed.step()).isEqualTo(2);
        resumed.train(null, null);
        assertThat(resumed.step()).isEqualTo(4);
        for (String k : full.model().parameters().keySet()) {
            assertThat(resumed.model().parameters().get(k)).as(k).containsExactly(full.model().parameters().get(k));
        }
        assertThat(resumed.model().codebook()).containsExactly(full.model().codebook());

        VqTrainerOptions other = new VqTrainerOptions(4, 2, 16, 1e-3, 1, 0.25, 0.9, 2, 17, 2);
        assertThatThrownBy(() -> VqVaeTrainer.resume(backend, TINY, world, other,
                tmp.resolve("full/vq-step-2.safetensors"))).hasMessageContaining("only steps and checkpointInterval");
    }

    @Test
    void shortTrainingOnShapesReducesTheLossAndUsesTheCodebook() {
        ShapeImages world = new ShapeImages(24);
        VqTrainerOptions o = new VqTrainerOptions(14, 2, 16, 1e-2, 2, 0.25, 0.9, 5, 5, 0);
        VqVaeTrainer t = VqVaeTrainer.start(backend, TINY, world, o);
        List<VqTrainingProgress> log = new ArrayList<>();
        VqVaeTrainer.Evaluation before = VqVaeTrainer.evaluate(backend, t.model(), world, 2, 99);
        t.train(log::add, null);
        assertThat(log).hasSize(14);
        double first = (log.get(0).reconstructionMse() + log.get(1).reconstructionMse()) / 2;
        double last = (log.get(12).reconstructionMse() + log.get(13).reconstructionMse()) / 2;
        System.out.printf("VQ short training: recon MSE %.4f -> %.4f%n", first, last);
        assertThat(last).as("reconstruction MSE first %f last %f", first, last).isLessThan(0.7 * first);
        assertThat(log.get(13).codesUsed()).isGreaterThan(4);
        assertThat(log.get(13).perplexity()).isGreaterThan(1.5);
        VqVaeTrainer.Evaluation after = VqVaeTrainer.evaluate(backend, t.model(), world, 2, 99);
        assertThat(after.psnr()).isGreaterThan(before.psnr() + 3);
    }

    @Test
    void optionsNameTheBadValue() {
        assertThatThrownBy(() -> new VqTrainerOptions(0, 2, 16, 1e-3, 0, 0.25, 0.99, 0, 1, 0))
                .hasMessageContaining("steps = 0");
        assertThatThrownBy(() -> VqVaeTrainer.start(backend, TINY, new ShapeImages(24),
                new VqTrainerOptions(1, 2, 20, 1e-3, 0, 0.25, 0.99, 0, 1, 0))).hasMessageContaining("crop = 20");
    }
}
