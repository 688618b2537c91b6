package io.cogvideo.generation;

import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import java.awt.image.BufferedImage;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The state of one running request, shared by its stages: the plan, the seed, the samplers, progress and
 * cancellation, and the wall time of each finished stage. Belongs to the request's thread.
 */
final class RequestRun {
    private final RequestPlan plan;
    private final long seed;
    private final TokenSampler firstFrameSampler;
    private final TokenSampler sampler;
    private final Progress progress;
    private final Map<GenerationStage, java.time.Duration> timings = new EnumMap<>(GenerationStage.class);
    private GenerationStage stage;

    /**
     * @param firstFrameSampler the sampler of the first frame (its own temperature and cluster count)
     * @param sampler           the sampler of every other frame
     */
    RequestRun(RequestPlan plan, long seed, TokenSampler firstFrameSampler, TokenSampler sampler) {
        GenerationRequest r = plan.request();
        this.plan = plan;
        this.seed = seed;
        this.firstFrameSampler = firstFrameSampler;
        this.sampler = sampler;
        this.progress = new Progress(r.listener(), r.cancellation(), r.maxBatchSize());
    }

    RequestPlan plan() {
        return plan;
    }

    GenerationRequest request() {
        return plan.request();
    }

    int samples() {
        return plan.request().samples();
    }

    int maxBatchSize() {
        return plan.request().maxBatchSize();
    }

    TokenSampler firstFrameSampler() {
        return firstFrameSampler;
    }

    TokenSampler sampler() {
        return sampler;
    }

    Progress progress() {
        return progress;
    }

    /** Generators of sequences {@code [from, from + count)} of a stage's random stream. */
    RandomGenerator[] rngs(int stream, int from, int count) {
        return SequenceRandom.of(seed, stream, from, count);
    }

    /** A stage starts (progress counted in {@code stepsPerSequence} per sequence); checks for cancellation. */
    void begin(GenerationStage s, int stepsPerSequence) {
        this.stage = s;
        progress.begin(s, stepsPerSequence);
    }

    /** The stage begun last is done: its wall time is recorded. */
    void end() {
        timings.put(stage, progress.elapsed());
    }

    /** A video of {@code frames} with the stages finished so far; {@code pixels} may be {@code null}. */
    Video video(int[][][] frames, int fps, List<List<BufferedImage>> pixels) {
        return new Video(frames, fps, seed, timings, plan.text().prompt(), pixels);
    }

    /** Records {@code frames} as the result a cancellation from now on carries, and returns it. */
    Video partial(int[][][] frames, int fps) {
        Video v = video(frames, fps, null);
        progress.partial(v);
        return v;
    }
}
