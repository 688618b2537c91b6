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
 * colours, three shapes, four directions) at frame rate 8 with one fixed seed. The full evaluation (48 prompts x 2
 * fresh seeds) is {@code cogvideo evaluate-demo}; its figures are in docs/demo-model.md.
 */
class DemoModelSmokeTest {
    @Test
    void fourPromptsOfTheWorldComeOutAsAsked() {
        List<Caption> prompts = EvaluateDemoCommand.pick(Caption.all(), 4);
        assertThat(prompts).extracting(c -> c.direction()).doesNotHaveDuplicates();
        assertThat(prompts).extracting(c -> c.colour()).doesNotHaveDuplicates();
        try (VideoGenerator gen = DemoAssets.install().files().configure(VideoGenerator.builder()).threads(2)
                .build()) {
            DemoEvaluation.Result r = DemoEvaluation.run(gen, prompts, List.of(7L), false, null);
            EvaluationReport report = r.report();
            assertThat(report.rows()).hasSize(4);
            // a shape is found in (almost) every one of the 4 x 33 frames
            assertThat(report.missingFrameFraction()).as(r.summary()).isLessThanOrEqualTo(0.1);
            long colour = report.rows().stream().filter(x -> x.score().colourOk()).count();
            long direction = report.rows().stream().filter(x -> x.score().directionOk()).count();
            assertThat(colour).as(r.summary()).isGreaterThanOrEqualTo(3);
            assertThat(direction).as(r.summary()).isGreaterThanOrEqualTo(3);
        }
    }
}
