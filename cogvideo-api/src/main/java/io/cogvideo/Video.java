package io.cogvideo;

import io.cogvideo.video.VideoFormat;
import io.cogvideo.video.VideoWriters;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A generated video (one or more samples of one prompt): the frame token grids always, and the decoded pictures
 * when the generator that made it has an image decoder. A video holds no link to the generator, so it stays usable
 * after the generator is closed. A video without pixels (no image decoder, or the partial result of a cancelled
 * request) can be decoded with {@link VideoGenerator#decode} while a generator is open. Immutable.
 */
public final class Video {
    private final int[][][] tokens;
    private final int fps;
    private final long seed;
    private final Map<GenerationStage, Duration> timings;
    private final int[] promptTokens;
    private final List<List<BufferedImage>> pixels;

    /**
     * A video of tokens only.
     *
     * @param tokens       [samples][frames][frameLength] image token ids
     * @param fps          frames per second over the clip
     * @param seed         the seed actually used
     * @param timings      wall time per stage
     * @param promptTokens token ids of the prompt alone
     */
    public Video(int[][][] tokens, int fps, long seed, Map<GenerationStage, Duration> timings, int[] promptTokens) {
        this(tokens, fps, seed, timings, promptTokens, null);
    }

    /**
     * As above, with the frames decoded to pixels.
     *
     * @param pixels [samples][frames] pictures matching {@code tokens}, or {@code null} for a video of tokens only
     * @throws CogVideoException if {@code pixels} does not have a picture for every frame
     */
    public Video(int[][][] tokens, int fps, long seed, Map<GenerationStage, Duration> timings, int[] promptTokens,
            List<List<BufferedImage>> pixels) {
        this.tokens = deepCopy(tokens);
        this.fps = fps;
        this.seed = seed;
        EnumMap<GenerationStage, Duration> t = new EnumMap<>(GenerationStage.class);
        t.putAll(timings);
        this.timings = Collections.unmodifiableMap(t);
        this.promptTokens = promptTokens.clone();
        this.pixels = pixels == null ? null : copyPixels(pixels, tokens);
    }

    private static List<List<BufferedImage>> copyPixels(List<List<BufferedImage>> pixels, int[][][] tokens) {
        if (pixels.size() != tokens.length) {
            throw new CogVideoException("pixels must have one list per sample (" + tokens.length + "), got "
                    + pixels.size());
        }
        List<List<BufferedImage>> copy = new ArrayList<>();
        for (int s = 0; s < tokens.length; s++) {
            if (pixels.get(s).size() != tokens[s].length) {
                throw new CogVideoException("pixels of sample " + s + " must have one picture per frame ("
                        + tokens[s].length + "), got " + pixels.get(s).size());
            }
            copy.add(List.copyOf(pixels.get(s)));
        }
        return List.copyOf(copy);
    }

    private static int[][][] deepCopy(int[][][] t) {
        int[][][] c = new int[t.length][][];
        for (int s = 0; s < t.length; s++) {
            c[s] = new int[t[s].length][];
            for (int f = 0; f < t[s].length; f++) {
                c[s][f] = t[s][f].clone();
            }
        }
        return c;
    }

    /** Number of samples (videos) of the prompt. */
    public int samples() {
        return tokens.length;
    }

    /** Frames per sample. */
    public int frameCount() {
        return tokens.length == 0 ? 0 : tokens[0].length;
    }

    /** Frames per second. */
    public int fps() {
        return fps;
    }

    /** Clip duration in seconds ({@code (frames - 1) / fps}, 4 s for a full generation). */
    public double durationSeconds() {
        return (frameCount() - 1) / (double) fps;
    }

    /** The seed actually used (drawn at random when the request gave none). */
    public long seed() {
        return seed;
    }

    /** Wall time per stage, in running order. */
    public Map<GenerationStage, Duration> timings() {
        return timings;
    }

    /** Total wall time of the stages. */
    public Duration totalTime() {
        return timings.values().stream().reduce(Duration.ZERO, Duration::plus);
    }

    /** Token ids of the prompt (without suffixes or duration prefix). */
    public int[] promptTokens() {
        return promptTokens.clone();
    }

    /** Image tokens of one frame, row-major. */
    public int[] frameTokens(int sample, int frame) {
        return tokens[sample][frame].clone();
    }

    /** All frame tokens, [samples][frames][tokens] (a copy). */
    public int[][][] tokens() {
        return deepCopy(tokens);
    }

    /** Whether the frames are decoded to pixels ({@link #frames} and {@link #write} need them). */
    public boolean hasPixels() {
        return pixels != null;
    }

    /**
     * Writes sample 0 to {@code file}, the format chosen by the extension: {@code .gif}, {@code .mp4}, a folder or
     * {@code .png} for numbered PNG frames plus a contact sheet.
     *
     * @throws CogVideoException if the video has no pixels (see {@link #frames})
     */
    public void write(Path file) {
        write(0, file, VideoFormat.fromPath(file));
    }

    /** Writes one sample in the given format. Needs pixels, see {@link #frames}. */
    public void write(int sample, Path file, VideoFormat format) {
        VideoWriters.write(frames(sample), fps, file, format);
    }

    /**
     * The pictures of every frame of a sample (copies).
     *
     * @throws CogVideoException if the sample is out of range, or the video has tokens only: it was made by a
     *                           generator without an image decoder, or it is the partial result of a cancelled
     *                           request; decode it with {@link VideoGenerator#decode} while that generator is open
     */
    public List<BufferedImage> frames(int sample) {
        if (sample < 0 || sample >= samples()) {
            throw new CogVideoException("sample must be in [0, " + samples() + "), got " + sample);
        }
        if (pixels == null) {
            throw new CogVideoException("this video has tokens only, no pixels (" + samples() + " sample(s) x "
                    + frameCount() + " frames): it was made without an image decoder, or it is the partial result "
                    + "of a cancelled request. Decode it with VideoGenerator.decode(video) while a generator built "
                    + "with an image tokenizer (VideoGenerator.Builder#imageTokenizer) is open; the tokens are "
                    + "available via frameTokens() and tokens()");
        }
        List<BufferedImage> out = new ArrayList<>();
        for (BufferedImage im : pixels.get(sample)) {
            BufferedImage c = new BufferedImage(im.getWidth(), im.getHeight(), im.getType());
            c.getGraphics().drawImage(im, 0, 0, null);
            out.add(c);
        }
        return out;
    }
}
