package io.cogvideo.examples.demo.recipe;

import io.cogvideo.CogVideoException;
import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.training.ClipSampler;
import io.cogvideo.training.TrainingDataset;
import io.cogvideo.training.TrainingExample;
import io.cogvideo.training.TrainingLayout;
import io.cogvideo.training.TrainingSample;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The training rows of the three phases, one example per video (so the held-out split holds out whole videos); every
 * choice (caption variant, suffix, unconditional row, clip) is a function of the seed the {@code Trainer} passes, so a
 * run and its resume see the same rows.
 *
 * <ul>
 *   <li>image model: {@code caption' + " 高清摄影"} + {@code <start_of_image>} + frame 0, image mode (the first
 *       frame's text and attention at generation);</li>
 *   <li>stage 1: {@code "4.0秒" <n> caption' [+ " 视频"]} over 5 frames spanning the 4 s video (ClipSampler's longest
 *       fit); with probability {@code uncondFraction} the caption is only {@code "视频"}, the text of the guidance
 *       branch ({@code "4.0秒" <n> "视频"}); otherwise {@code " 视频"} ends it with probability
 *       {@code suffixFraction} (generation with guidance uses that suffix, without guidance not);</li>
 *   <li>stage 2: {@code "<d>秒" <n> caption'} with {@code d} drawn uniformly among 2.0, 1.0 and 0.5 s, frames 0, 2, 4
 *       given and the loss on frames 1 and 3 (the text of the interpolation rounds: no suffix, no guidance).</li>
 * </ul>
 *
 * {@code caption'} is {@code caption} or {@code "一个" + caption}, half each.
 */
public final class RecipeData {
    /** Suffix of the first frame's text ({@code CogVideoPipeline.FIRST_FRAME_SUFFIX}). */
    public static final String IMAGE_SUFFIX = " 高清摄影";
    /** Suffix of the key frames' text under guidance ({@code CogVideoPipeline.VIDEO_SUFFIX}). */
    public static final String VIDEO_SUFFIX = " 视频";
    /** The guidance branch's caption ({@code CogVideoPipeline.GUIDANCE_TEXT}). */
    public static final String UNCONDITIONAL = "视频";
    /** The training variant's prefix. */
    public static final String ONE = "一个";

    private final RecipeConfig config;
    private final PromptEncoder encoder;
    private final TrainingLayout layout;

    public RecipeData(RecipeConfig config, PromptEncoder encoder) {
        this.config = config;
        this.encoder = encoder;
        this.layout = new TrainingLayout(RecipeConfig.TEXT_SLOTS, RecipeConfig.FRAME_LENGTH, RecipeConfig.FRAMES,
                config.padId(), config.startOfImageId());
        if (encoder.startOfImage() != config.startOfImageId()) {
            throw new CogVideoException("recipe data: the text model's <start_of_image> is " + encoder.startOfImage()
                    + " but the config says " + config.startOfImageId());
        }
    }

    /** The training layout of the demo ({@code [32, 176, 752]}). */
    public TrainingLayout layout() {
        return layout;
    }

    /** Image-model rows: one per video, its first frame. */
    public TrainingDataset imageModel(List<TrainingSample> videos) {
        List<TrainingSample> v = checked(videos);
        return dataset(v.size(), (i, seed) -> {
            TrainingSample s = v.get(i);
            SplittableRandom r = new SplittableRandom(seed);
            return layout.imageExample(truncate(encoder.encode(variant(s.caption(), r) + IMAGE_SUFFIX)),
                    s.frameTokens(0));
        });
    }

    /** Stage-1 rows: one 4-second clip of 5 frames per video. */
    public TrainingDataset stage1(List<TrainingSample> videos) {
        List<TrainingSample> v = checked(videos);
        ClipSampler sampler = ClipSampler.forStage(layout, encoder, 1);
        return dataset(v.size(), (i, seed) -> {
            TrainingSample s = v.get(i);
            SplittableRandom r = new SplittableRandom(seed ^ 0x51A6E1L);
            String caption;
            if (r.nextDouble() < config.uncondFraction()) {
                caption = UNCONDITIONAL;
            } else {
                caption = variant(s.caption(), r) + (r.nextDouble() < config.suffixFraction() ? VIDEO_SUFFIX : "");
            }
            ClipSampler.Clip c = sampler.choose(s, seed).orElseThrow(() -> tooShort(i, s));
            return layout.build(sampler.text(c.durationSeconds(), caption), frames(s, c), 1);
        });
    }

    /** Stage-2 rows: one clip per video at a random duration among 2.0, 1.0 and 0.5 s. */
    public TrainingDataset stage2(List<TrainingSample> videos) {
        List<TrainingSample> v = checked(videos);
        ClipSampler sampler = new ClipSampler(layout, encoder, ClipSampler.STAGE2_DURATIONS, true);
        return dataset(v.size(), (i, seed) -> {
            TrainingSample s = v.get(i);
            SplittableRandom r = new SplittableRandom(seed ^ 0x5742E2L);
            String caption = variant(s.caption(), r);
            ClipSampler.Clip c = sampler.choose(s, seed).orElseThrow(() -> tooShort(i, s));
            return layout.build(sampler.text(c.durationSeconds(), caption), frames(s, c), 2);
        });
    }

    private static String variant(String caption, SplittableRandom r) {
        return r.nextBoolean() ? ONE + caption : caption;
    }

    private int[] truncate(int[] text) {
        return text.length <= RecipeConfig.TEXT_SLOTS ? text : Arrays.copyOf(text, RecipeConfig.TEXT_SLOTS);
    }

    private static int[][] frames(TrainingSample s, ClipSampler.Clip c) {
        int[] idx = c.frameIndices();
        int[][] f = new int[idx.length][];
        for (int k = 0; k < idx.length; k++) {
            f[k] = s.frameTokens(idx[k]);
        }
        return f;
    }

    private static CogVideoException tooShort(int i, TrainingSample s) {
        return new CogVideoException("recipe data: video " + i + " ('" + s.caption() + "', " + s.frameCount()
                + " frames at " + s.frameRate() + " fps) holds no clip of the phase's durations");
    }

    private static List<TrainingSample> checked(List<TrainingSample> videos) {
        if (videos == null || videos.isEmpty()) {
            throw new CogVideoException("recipe data: no videos");
        }
        return List.copyOf(videos);
    }

    private interface Maker {
        TrainingExample make(int index, long seed);
    }

    private static TrainingDataset dataset(int size, Maker maker) {
        return new TrainingDataset() {
            @Override
            public int size() {
                return size;
            }

            @Override
            public TrainingExample example(int index, long seed) {
                return maker.make(java.util.Objects.checkIndex(index, size), seed);
            }
        };
    }
}
