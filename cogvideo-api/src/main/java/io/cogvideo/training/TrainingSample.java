package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * One training video: a caption and its frames at a known frame rate. Frames are delivered as image token ids (the
 * VQ codes of the frame, {@code frameLength} of them, row-major), on demand, so a source may tokenize lazily.
 * {@link ClipSampler} picks which frames an example uses.
 */
public interface TrainingSample {

    /** The caption (plain text; the duration prefix is added by the sampler). */
    String caption();

    /** Frames per second of the source frames, {@code > 0}. */
    double frameRate();

    /** Source frames available, {@code >= 1}; frame {@code i} is at {@code i / frameRate()} seconds. */
    int frameCount();

    /** Image token ids of source frame {@code index} ({@code 0 <= index < frameCount()}). */
    int[] frameTokens(int index);

    /** A sample over already tokenized frames (the list is copied; each frame's ids are copied). */
    static TrainingSample ofTokens(String caption, double frameRate, List<int[]> frames) {
        Objects.requireNonNull(caption, "caption");
        checkRate(frameRate);
        if (frames.isEmpty()) {
            throw new CogVideoException("training sample '" + caption + "': no frames");
        }
        List<int[]> copy = new ArrayList<>(frames.size());
        for (int[] f : frames) {
            copy.add(f.clone());
        }
        return of(caption, frameRate, copy.size(), i -> copy.get(i).clone());
    }

    /**
     * A sample whose frames are pictures produced on demand and tokenized when used, e.g.
     * {@code ofImages(caption, 8, n, i -> readFrame(i), img -> tokenizer.encode(img, 160, 8))} with an
     * {@link io.cogvideo.tokenizer.image.ImageTokenizer}.
     *
     * @param frames    source frame {@code i} as a picture
     * @param tokenizer picture to {@code frameLength} image token ids
     */
    static TrainingSample ofImages(String caption, double frameRate, int frameCount,
            IntFunction<BufferedImage> frames, Function<BufferedImage, int[]> tokenizer) {
        Objects.requireNonNull(caption, "caption");
        Objects.requireNonNull(frames, "frames");
        Objects.requireNonNull(tokenizer, "tokenizer");
        checkRate(frameRate);
        if (frameCount < 1) {
            throw new CogVideoException("training sample '" + caption + "': frameCount = " + frameCount
                    + " is invalid; allowed: >= 1");
        }
        return of(caption, frameRate, frameCount, i -> tokenizer.apply(frames.apply(i)));
    }

    /** The one implementation behind the factories: {@code tokens} is called with a checked index. */
    private static TrainingSample of(String caption, double frameRate, int frameCount, IntFunction<int[]> tokens) {
        return new TrainingSample() {
            @Override
            public String caption() {
                return caption;
            }

            @Override
            public double frameRate() {
                return frameRate;
            }

            @Override
            public int frameCount() {
                return frameCount;
            }

            @Override
            public int[] frameTokens(int index) {
                Objects.checkIndex(index, frameCount);
                return tokens.apply(index);
            }
        };
    }

    private static void checkRate(double frameRate) {
        if (!(frameRate > 0) || !Double.isFinite(frameRate)) {
            throw new CogVideoException("training sample: frame rate = " + frameRate + " is invalid; allowed: > 0");
        }
    }
}
