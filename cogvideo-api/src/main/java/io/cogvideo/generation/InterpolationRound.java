package io.cogvideo.generation;

import io.cogvideo.GenerationStage;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.SequenceOptions;

/**
 * One stage-2 round: every window of three parent frames gets two generated frames between them (see
 * {@link Interpolation}), from {@code "<4/2^round>秒" <n> prompt} with the request's text boost; the frame count
 * per sample goes from {@code n} to {@code 2n - 1}. Immutable; one object per round.
 */
final class InterpolationRound {
    private final CogVideoModel model;
    private final int window;
    private final int startOfImage;
    private final int round;

    /**
     * @param model        the stage-2 model
     * @param window       its spatial window (10 in the released model)
     * @param startOfImage id of {@code <start_of_image>}
     * @param round        1-based round
     */
    InterpolationRound(CogVideoModel model, int window, int startOfImage, int round) {
        this.model = model;
        this.window = window;
        this.startOfImage = startOfImage;
        this.round = round;
    }

    /**
     * @param parents [samples][n][L]
     * @return [samples][2n - 1][L]
     */
    int[][][] run(RequestRun run, int[][][] parents) {
        int fl = model.config().frameLength();
        int windows = Interpolation.windows(parents[0].length);
        run.begin(GenerationStage.interpolation(round), 2 * fl);
        FrameFiller.Job job = FrameFiller.builder(model,
                        SequenceOptions.stage2(window, (float) run.request().textBoost()))
                .text(run.plan().text().stage2().get(round - 1))
                .givenBlocks(Interpolation.GIVEN_BLOCKS)
                .startOfImage(startOfImage)
                .samplers(run.sampler(), run.sampler())
                .build();
        int[][][] generated = Batches.fill(run, job, SequenceRandom.interpolation(round), parents.length * windows,
                i -> Interpolation.window(parents[i / windows], i % windows, fl));
        int[][][] merged = Interpolation.merge(parents, generated, windows);
        run.end();
        return merged;
    }
}
