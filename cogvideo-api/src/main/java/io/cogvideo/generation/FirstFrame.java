package io.cogvideo.generation;

import io.cogvideo.GenerationStage;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.SequenceOptions;

/**
 * Stage 1, first part: frame 0 of each sample in image mode (CogView2's half of the stage-1 model), from the prompt
 * with the suffix " 高清摄影", text boost 1.4 as the original hard-codes it, and the first frame's own sampler.
 * Immutable; runs only when no key frame is given.
 */
final class FirstFrame {
    /** The text boost the original uses for the first frame, whatever the request says. */
    static final float TEXT_BOOST = 1.4f;

    private final CogVideoModel model;
    private final int startOfImage;

    FirstFrame(CogVideoModel model, int startOfImage) {
        this.model = model;
        this.startOfImage = startOfImage;
    }

    /** Generates frame 0 of every sample into {@code keys} [samples][5][L]. */
    void run(RequestRun run, int[][][] keys) {
        int fl = model.config().frameLength();
        run.begin(GenerationStage.FIRST_FRAME, fl);
        FrameFiller.Job job = FrameFiller.builder(model, SequenceOptions.firstFrame(TEXT_BOOST))
                .text(run.plan().text().firstFrame())
                .startOfImage(startOfImage)
                .samplers(run.firstFrameSampler(), run.sampler())
                .build();
        int[][][] out = Batches.fill(run, job, SequenceRandom.FIRST_FRAME, keys.length, s -> new int[1][fl]);
        for (int s = 0; s < keys.length; s++) {
            keys[s][0] = out[s][0];
        }
        run.end();
    }
}
