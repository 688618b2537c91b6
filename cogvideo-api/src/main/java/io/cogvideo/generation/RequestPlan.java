package io.cogvideo.generation;

import io.cogvideo.GenerationRequest;

/**
 * A request validated against one pipeline, with its text prefixes tokenized: made once per request by
 * {@link CogVideoPipeline#plan} (every check that needs the model, before any work) and consumed by
 * {@link CogVideoPipeline#generate}. Opaque and immutable; only the pipeline that made it can run it.
 */
public final class RequestPlan {
    private final CogVideoPipeline pipeline;
    private final GenerationRequest request;
    private final CogVideoPipeline.TextPlan text;
    private final int[][] givenFrames;
    private final int[][] inputVideo;
    private final boolean superResolution;
    private final boolean decode;

    RequestPlan(CogVideoPipeline pipeline, GenerationRequest request, CogVideoPipeline.TextPlan text,
            boolean superResolution, boolean decode) {
        this.pipeline = pipeline;
        this.request = request;
        this.text = text;
        this.givenFrames = request.givenFrames().toArray(new int[0][]);
        this.inputVideo = request.inputVideo().toArray(new int[0][]);
        this.superResolution = superResolution;
        this.decode = decode;
    }

    /** The request this plan was made for. */
    public GenerationRequest request() {
        return request;
    }

    CogVideoPipeline pipeline() {
        return pipeline;
    }

    CogVideoPipeline.TextPlan text() {
        return text;
    }

    /** Number of given leading key frames. */
    int givenCount() {
        return givenFrames.length;
    }

    /** The first key frame that stage 1 generates after the first frame (1 when nothing is given). */
    int firstGeneratedKeyFrame() {
        return Math.max(1, givenFrames.length);
    }

    /** Interpolation rounds: log2 of the frame rate. */
    int rounds() {
        return text.stage2().size();
    }

    /** Whether the request interpolates a given video (no first frame, no key frames). */
    boolean interpolatesInput() {
        return inputVideo.length > 0;
    }

    /**
     * The first interpolation round to run: 1 for text-to-video; for an input video of rate {@code r} (1, 2, 4)
     * {@code log2(r) + 1}, so that 5 frames start at round 1, 9 at round 2 and 17 at round 3.
     */
    int firstRound() {
        return inputVideo.length == 0 ? 1 : Integer.numberOfTrailingZeros((inputVideo.length - 1) / 4) + 1;
    }

    /** Frames per second of what the first round starts from: 1 (key frames) or the input video's rate. */
    int startFrameRate() {
        return 1 << (firstRound() - 1);
    }

    /** The input video of every sample, [samples][n][L] (copies). */
    int[][][] initialInputVideo() {
        int[][][] frames = new int[request.samples()][inputVideo.length][];
        for (int[][] sample : frames) {
            for (int i = 0; i < inputVideo.length; i++) {
                sample[i] = inputVideo[i].clone();
            }
        }
        return frames;
    }

    boolean superResolution() {
        return superResolution;
    }

    boolean decode() {
        return decode;
    }

    /** Key frames of every sample, [samples][keyFrames][L]: the given ones filled (copies), the others zero. */
    int[][][] initialKeyFrames(int keyFrames, int frameLength) {
        int[][][] keys = new int[request.samples()][keyFrames][frameLength];
        for (int[][] sample : keys) {
            for (int i = 0; i < givenFrames.length; i++) {
                sample[i] = givenFrames[i].clone();
            }
        }
        return keys;
    }
}
