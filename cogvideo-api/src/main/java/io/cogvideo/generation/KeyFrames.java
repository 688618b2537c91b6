package io.cogvideo.generation;

import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.SequenceOptions;

/**
 * Stage 1, second part: the key frames after the given (or first) ones, at 1 fps, from {@code "4.0秒" <n> prompt},
 * with classifier-free guidance against {@code "4.0秒" <n> "视频"} when the request asks for it (text boost 0 then,
 * else the request's boost). Immutable.
 */
final class KeyFrames {
    private final CogVideoModel model;
    private final int startOfImage;

    KeyFrames(CogVideoModel model, int startOfImage) {
        this.model = model;
        this.startOfImage = startOfImage;
    }

    /** Generates key frames {@code first..4} of every sample into {@code keys} [samples][5][L]. */
    void run(RequestRun run, int[][][] keys) {
        GenerationRequest r = run.request();
        int fl = model.config().frameLength();
        int first = run.plan().firstGeneratedKeyFrame();
        run.begin(GenerationStage.KEY_FRAMES, (keys[0].length - first) * fl);
        float boost = r.guidance() ? 0f : (float) r.textBoost();
        FrameFiller.Builder job = FrameFiller.builder(model, SequenceOptions.stage1(boost, true))
                .text(run.plan().text().keyFrames())
                .givenBlocks(first)
                .startOfImage(startOfImage)
                .samplers(run.firstFrameSampler(), run.sampler());
        if (r.guidance()) {
            job.guidance(run.plan().text().guider(), r.guidanceAlpha());
        }
        int[][][] out = Batches.fill(run, job.build(), SequenceRandom.KEY_FRAMES, keys.length, s -> copy(keys[s]));
        System.arraycopy(out, 0, keys, 0, keys.length);
        run.end();
    }

    private static int[][] copy(int[][] a) {
        int[][] c = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }
}
