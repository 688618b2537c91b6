package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.VideoGenerator;
import io.cogvideo.examples.demo.DemoEvaluation;
import io.cogvideo.examples.demo.world.Caption;
import io.cogvideo.examples.demo.world.EvaluationReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The committed demo model, end to end, scored by the world's evaluator (issue #14's CI smoke test): 4 prompts (four
 * colours, three shapes, four directions) at frame rate 8 with one fixed seed. The full evaluation is
 * {@code cogvideo evaluate-demo}; its figures are in docs/demo-model.md. This first model draws shapes of mostly the
 * asked colour but does not yet move them as asked, so the test asserts what it does (a random model, the former
 * demo, fails both checks: its frames are noise); the acceptance thresholds are not met yet.
 */
class DemoModelSmokeTest {
    @Test
    void fourPromptsOfTheWorldComeOutAsShapesOfTheAskedColour() {
        List<Caption> prompts = EvaluateDemoCommand.pick(Caption.all(), 4);
        assertThat(prompts).extracting(c -> c.direction()).doesNotHaveDuplicates();
        assertThat(prompts).extracting(c -> c.colour()).doesNotHaveDuplicates();
        try (VideoGenerator gen = DemoAssets.install().files().configure(VideoGenerator.builder()).threads(2)
                .build()) {
            DemoEvaluation.Result r = DemoEvaluation.run(gen, prompts, List.of(7L), false, null);
            EvaluationReport report = r.report();
            assertThat(report.rows()).hasSize(4);
            // the evaluator finds one shape (a blob of a palette colour on white) in at least a third of the frames
            assertThat(report.missingFrameFraction()).as(r.summary()).isLessThanOrEqualTo(2.0 / 3);
            // and the asked colour dominates in at least one of the four videos
            long colour = report.rows().stream().filter(x -> x.score().colourOk()).count();
            assertThat(colour).as(r.summary()).isGreaterThanOrEqualTo(1);
        }
    }
}
