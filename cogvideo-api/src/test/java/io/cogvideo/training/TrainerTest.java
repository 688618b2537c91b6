package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.checkpoint.StateDict;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Trainer} with the synthetic {@link QuadraticModel}: resume, freezing, determinism, checkpoints, evaluation. */
class TrainerTest {
    private static final TrainingDataset DATA = TrainingDataset.of(QuadraticModel.examples(20, 5));

    private static TrainerOptions options(Path out) {
        return TrainerOptions.defaults(out).withSteps(20).withBatchSize(3).withLr(0.05).withSchedule(0.1,
                LearningRateSchedule.Decay.COSINE, 0.1).withClipNorm(1.0).withEvaluation(0.2, 5)
                .withCheckpointInterval(10).withSeed(77);
    }

    @Test
    void resumeGivesIdenticalLossesForTheNextTenSteps(@TempDir Path dir) {
        Trainer straight = new Trainer(new QuadraticModel(), DATA, options(dir.resolve("a")), null);
        LossCurve full = straight.run().curve();
        assertThat(full.points()).hasSize(20);

        Path b = dir.resolve("b");
        Trainer first = new Trainer(new QuadraticModel(), DATA, options(b), null);
        Trainer.Result half = first.runUntil(10);
        assertThat(half.lastCheckpoint()).isEqualTo(b.resolve("checkpoint-000010"));
        // a new process: a fresh model (initial weights), resumed from the output folder's latest checkpoint
        QuadraticModel fresh = new QuadraticModel();
        Trainer resumed = Trainer.resume(fresh, DATA, options(b), b, null);
        assertThat(resumed.step()).isEqualTo(10);
        LossCurve after = resumed.run().curve();
        assertThat(after.points()).hasSize(20);
        for (int i = 10; i < 20; i++) {
            LossCurve.Point x = full.points().get(i);
            LossCurve.Point y = after.points().get(i);
            assertThat(y.loss()).as("loss at step %d", x.step()).isEqualTo(x.loss());
            assertThat(y.gradNorm()).isEqualTo(x.gradNorm());
            assertThat(y.lr()).isEqualTo(x.lr());
            assertThat(Double.valueOf(y.evalLoss())).isEqualTo(Double.valueOf(x.evalLoss())); // NaN when not evaluated
        }
        assertThat(after).isEqualTo(full);
        for (String k : straight.trainableKeys()) {
            assertThat(resumed.masterWeights(k)).containsExactly(straight.masterWeights(k));
        }
    }

    @Test
    void frozenParametersStayBitIdenticalAndOnlyTheTrainableSetChanges(@TempDir Path dir) {
        QuadraticModel m = new QuadraticModel();
        float[] frozen = m.parameter("transformer.frozen.weight");
        float[] plus = m.parameter("mixins.plus.weight");
        Trainer t = new Trainer(m, DATA, options(dir), null);
        assertThat(t.trainableKeys()).containsExactly("mixins.plus.weight", "mixins.alpha");
        t.run();
        assertThat(m.parameter("transformer.frozen.weight")).containsExactly(frozen);
        assertThat(m.pushes).doesNotContainKey("transformer.frozen.weight");
        assertThat(m.parameter("mixins.plus.weight")).isNotEqualTo(plus);
        assertThat(m.parameter("mixins.plus.weight")).containsExactly(t.masterWeights("mixins.plus.weight"));

        QuadraticModel all = new QuadraticModel();
        new Trainer(all, DATA, options(dir.resolve("all")).withTrainEverything(true), null).run();
        assertThat(all.parameter("transformer.frozen.weight")).isNotEqualTo(frozen);
    }

    @Test
    void deterministicForAFixedSeedAndTheLossGoesDown(@TempDir Path dir) {
        TrainerOptions o = options(dir.resolve("x")).withSteps(60).withCheckpointInterval(0);
        LossCurve a = new Trainer(new QuadraticModel(), DATA, o, null).run().curve();
        LossCurve b = new Trainer(new QuadraticModel(), DATA, o.withOutputDir(dir.resolve("y")), null).run().curve();
        assertThat(a).isEqualTo(b);
        LossCurve c = new Trainer(new QuadraticModel(), DATA, o.withSeed(78).withOutputDir(dir.resolve("z")), null)
                .run().curve();
        assertThat(c).isNotEqualTo(a);
        double firstEval = a.points().stream().filter(p -> !Double.isNaN(p.evalLoss())).findFirst().orElseThrow()
                .evalLoss();
        double lastEval = a.points().get(59).evalLoss();
        assertThat(lastEval).isLessThan(firstEval);
        double first = a.points().get(0).loss();
        double last = a.points().stream().skip(50).mapToDouble(LossCurve.Point::loss).average().orElseThrow();
        assertThat(last).isLessThan(0.6 * first);
    }

    @Test
    void heldOutExamplesAreNeverTrainedOnAndEvaluatedAtTheInterval(@TempDir Path dir) {
        List<Long> evalSteps = new ArrayList<>();
        List<TrainingProgress> progress = new ArrayList<>();
        TrainingListener l = new TrainingListener() {
            @Override
            public void onStep(TrainingProgress p) {
                progress.add(p);
            }

            @Override
            public void onEvaluation(long step, double loss) {
                evalSteps.add(step);
            }
        };
        Trainer t = new Trainer(new QuadraticModel(), DATA, options(dir), l);
        assertThat(t.evalIndices()).hasSize(4);
        Set<Integer> held = new HashSet<>();
        Arrays.stream(t.evalIndices()).forEach(held::add);
        assertThat(Arrays.stream(t.trainIndices()).noneMatch(held::contains)).isTrue();
        List<TrainingExample> heldOut = new ArrayList<>();
        for (int i : t.evalIndices()) {
            heldOut.add(DATA.example(i, 0));
        }
        for (long s = 1; s <= 20; s++) {
            for (TrainingExample e : t.batch(s)) {
                assertThat(heldOut).doesNotContain(e);
            }
        }
        t.run();
        assertThat(evalSteps).containsExactly(5L, 10L, 15L, 20L);
        assertThat(progress).hasSize(20);
        TrainingProgress lastP = progress.get(19);
        assertThat(lastP.step()).isEqualTo(20);
        assertThat(lastP.totalSteps()).isEqualTo(20);
        assertThat(lastP.tokensPerSecond()).isPositive();
        assertThat(lastP.eta().isZero()).isTrue();
        assertThat(lastP.lastEvalLoss()).isEqualTo(t.curve().points().get(19).evalLoss());
    }

    @Test
    void checkpointsLoadAsSdkModelFoldersWithOptimizerStateAndLossCurve(@TempDir Path dir) throws Exception {
        Trainer t = new Trainer(new QuadraticModel(), DATA, options(dir), null);
        t.run();
        Path c10 = dir.resolve("checkpoint-000010");
        Path c20 = dir.resolve("checkpoint-000020");
        assertThat(Files.readString(dir.resolve(Trainer.LATEST)).trim()).isEqualTo("checkpoint-000020");
        try (SatCheckpoint ck = SatCheckpoint.open(c20)) {
            assertThat(ck.weightsFile().getFileName().toString()).isEqualTo("model.safetensors");
            assertThat(ck.config()).containsEntry("model_class", "QuadraticModel");
        }
        try (StateDict sd = SafetensorsReader.read(c20.resolve("model.safetensors"))) {
            assertThat(sd.keys()).containsExactlyElementsOf(QuadraticModel.SHAPES.keySet());
            assertThat(sd.get("mixins.plus.weight").shape()).containsExactly(3, 4);
            assertThat(sd.get("mixins.plus.weight").toFloatArray()).containsExactly(t.masterWeights(
                    "mixins.plus.weight"));
        }
        assertThat(OptimizerState.read(c20.resolve("optimizer.safetensors")).step()).isEqualTo(20);
        assertThat(OptimizerState.read(c10.resolve("optimizer.safetensors")).step()).isEqualTo(10);
        assertThat(LossCurve.readCsv(c10.resolve("loss.csv")).points()).hasSize(10);
        assertThat(LossCurve.readCsv(dir.resolve("loss.csv"))).isEqualTo(t.curve());
        BufferedImage png = ImageIO.read(dir.resolve("loss.png").toFile());
        assertThat(png.getWidth()).isEqualTo(640);
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList()).isEmpty();
        }
    }

    @Test
    void resumeRefusesOptionsThatWouldChangeTheRun(@TempDir Path dir) {
        new Trainer(new QuadraticModel(), DATA, options(dir), null).runUntil(10);
        assertThatThrownBy(() -> Trainer.resume(new QuadraticModel(), DATA, options(dir).withSeed(1), dir, null))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("seed = 77, these options 1");
        assertThatThrownBy(() -> Trainer.resume(new QuadraticModel(), DATA, options(dir).withBatchSize(2), dir, null))
                .hasMessageContaining("batch_size = 3");
        assertThatThrownBy(() -> Trainer.resume(new QuadraticModel(), DATA, options(dir), dir.resolve("nope"), null))
                .hasMessageContaining("is not a training checkpoint");
    }
}
