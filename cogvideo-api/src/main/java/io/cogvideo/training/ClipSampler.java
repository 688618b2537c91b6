package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import io.cogvideo.tokenizer.PromptEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Multi-frame-rate clip sampling (the paper's frame-rate training; cogdata's {@code clip_length} /
 * {@code frame_interval}): for each video it picks a duration {@code d} among the candidates (4, 2, 1, 0.5 s) and
 * takes the {@code F} frames at {@code start + k * d / (F - 1)} seconds, so the frames span the whole chosen window;
 * the text is {@code str(float(d)) + "秒"}, {@code <n>} and the caption, as the original's data.
 *
 * <p>Duration: by default the longest candidate the video holds, so the frames cover as much of the action as
 * possible; with {@code randomDuration} a uniform pick among those that fit (every frame rate is trained). A duration
 * fits when its frames lie inside the video and are at least one source frame apart (no repeated frames). The window
 * start is uniform over the slack. Every choice comes from the {@code seed} argument only: the same seed gives the
 * same clip.
 *
 * <p>Stage 2: the same clip; frames 0, 2, 4 are given and 1, 3 carry the loss ({@link TrainingLayout#lossFrames}).
 * Its default candidates are the interpolation durations 2, 1, 0.5 s that generation uses (4 s is the key-frame rate).
 *
 * @param layout         the training layout (frame count, text slots)
 * @param encoder        text to ids, the duration prefix and {@code <n>}
 * @param durations      candidate durations in seconds, each {@code > 0}
 * @param randomDuration pick uniformly among fitting durations instead of the longest
 */
public record ClipSampler(TrainingLayout layout, PromptEncoder encoder, List<Double> durations,
        boolean randomDuration) {

    /** Stage-1 candidates: the original's prefixes "4.0秒", "2.0秒", "1.0秒", "0.5秒". */
    public static final List<Double> STAGE1_DURATIONS = List.of(4.0, 2.0, 1.0, 0.5);
    /** Stage-2 candidates: the interpolation rounds' durations. */
    public static final List<Double> STAGE2_DURATIONS = List.of(2.0, 1.0, 0.5);

    public ClipSampler {
        java.util.Objects.requireNonNull(layout, "layout");
        java.util.Objects.requireNonNull(encoder, "encoder");
        if (durations == null || durations.isEmpty()) {
            throw new CogVideoException("clip sampler: at least one duration is required");
        }
        List<Double> sorted = new ArrayList<>(durations);
        for (Double d : sorted) {
            if (d == null || !(d > 0) || !Double.isFinite(d)) {
                throw new CogVideoException("clip sampler: duration " + d + " s is invalid; allowed: > 0");
            }
        }
        sorted.sort((a, b) -> Double.compare(b, a));
        durations = List.copyOf(sorted);
    }

    /** The default sampler of a stage: longest fitting duration among {@link #STAGE1_DURATIONS} or {@link #STAGE2_DURATIONS}. */
    public static ClipSampler forStage(TrainingLayout layout, PromptEncoder encoder, int stage) {
        if (stage != 1 && stage != 2) {
            throw new CogVideoException("clip sampler: stage = " + stage + " is invalid; allowed: 1 or 2");
        }
        return new ClipSampler(layout, encoder, stage == 1 ? STAGE1_DURATIONS : STAGE2_DURATIONS, false);
    }

    /**
     * A chosen clip.
     *
     * @param durationSeconds the window the frames span (the text prefix)
     * @param startSeconds    time of frame 0
     * @param frameIndices    [F] source frame of each example frame, increasing
     */
    public record Clip(double durationSeconds, double startSeconds, int[] frameIndices) {
        public Clip {
            frameIndices = frameIndices.clone();
        }

        @Override
        public int[] frameIndices() {
            return frameIndices.clone();
        }

        /** Seconds between consecutive chosen frames. */
        public double intervalSeconds() {
            return durationSeconds / (frameIndices.length - 1);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Clip c && c.durationSeconds == durationSeconds && c.startSeconds == startSeconds
                    && Arrays.equals(c.frameIndices, frameIndices);
        }

        @Override
        public int hashCode() {
            return Double.hashCode(durationSeconds) * 31 + Arrays.hashCode(frameIndices);
        }

        @Override
        public String toString() {
            return "Clip[" + durationSeconds + " s from " + startSeconds + " s, frames "
                    + Arrays.toString(frameIndices) + "]";
        }
    }

    /** The durations this video can hold (longest first). */
    public List<Double> fittingDurations(TrainingSample sample) {
        List<Double> out = new ArrayList<>();
        for (double d : durations) {
            if (fits(sample, d)) {
                out.add(d);
            }
        }
        return out;
    }

    private boolean fits(TrainingSample s, double d) {
        int gaps = layout.frameCount() - 1;
        double spanFrames = d * s.frameRate();
        // the last frame must exist and consecutive frames must be distinct source frames
        return Math.round(spanFrames) <= s.frameCount() - 1 && spanFrames / gaps >= 1.0 - 1e-9;
    }

    /** The clip for {@code sample} under {@code seed}; empty when no candidate duration fits the video. */
    public Optional<Clip> choose(TrainingSample sample, long seed) {
        List<Double> fit = fittingDurations(sample);
        if (fit.isEmpty()) {
            return Optional.empty();
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double d = randomDuration ? fit.get(rnd.nextInt(fit.size())) : fit.get(0);
        double fps = sample.frameRate();
        int gaps = layout.frameCount() - 1;
        int span = (int) Math.round(d * fps);
        int slack = sample.frameCount() - 1 - span;
        int start = slack > 0 ? rnd.nextInt(slack + 1) : 0;
        int[] idx = new int[layout.frameCount()];
        for (int k = 0; k <= gaps; k++) {
            idx[k] = start + (int) Math.round(k * d * fps / gaps);
        }
        return Optional.of(new Clip(d, start / fps, idx));
    }

    /**
     * The text of a clip: {@code duration(d)}, {@code <n>}, then the caption ids with any {@code <n>} removed and
     * truncated to {@code textSlots - |duration| - 3} tokens (cogdata's rule).
     */
    public int[] text(double durationSeconds, String caption) {
        int[] dur = encoder.duration(durationSeconds);
        int nl = encoder.newline();
        int[] cap = Arrays.stream(encoder.encode(caption)).filter(t -> t != nl).toArray();
        int keep = Math.max(0, Math.min(cap.length, layout.textSlots() - dur.length - 3));
        int[] out = new int[dur.length + 1 + keep];
        System.arraycopy(dur, 0, out, 0, dur.length);
        out[dur.length] = nl;
        System.arraycopy(cap, 0, out, dur.length + 1, keep);
        if (out.length > layout.textSlots()) {
            throw new CogVideoException("clip sampler: the duration prefix of " + durationSeconds + " s takes "
                    + dur.length + " tokens; it does not fit " + layout.textSlots() + " text slots");
        }
        return out;
    }

    /** A training example of {@code stage} from {@code sample} under {@code seed}; empty when no duration fits. */
    public Optional<TrainingExample> example(TrainingSample sample, int stage, long seed) {
        return choose(sample, seed).map(c -> {
            int[] idx = c.frameIndices();
            int[][] frames = new int[idx.length][];
            for (int k = 0; k < idx.length; k++) {
                frames[k] = sample.frameTokens(idx[k]);
            }
            return layout.build(text(c.durationSeconds(), sample.caption()), frames, stage);
        });
    }
}
