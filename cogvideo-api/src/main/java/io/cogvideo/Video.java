package io.cogvideo;

import io.cogvideo.generation.ImageDecoder;
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
 * A generated video (one or more samples of one prompt): the frame token grids, and pixels through the image
 * decoder the generator was built with. Immutable.
 */
public final class Video {
    private final int[][][] tokens;
    private final int fps;
    private final long seed;
    private final Map<GenerationStage, Duration> timings;
    private final int[] promptTokens;
    private final ImageDecoder decoder;
    private final List<List<BufferedImage>> images;

    /**
     * @param tokens       [samples][frames][frameLength] image token ids
     * @param fps          frames per second over the clip
     * @param seed         the seed actually used
     * @param timings      wall time per stage
     * @param promptTokens token ids of the prompt alone
     * @param decoder      the image decoder, or {@code null} if none is configured
     */
    public Video(int[][][] tokens, int fps, long seed, Map<GenerationStage, Duration> timings, int[] promptTokens,
            ImageDecoder decoder) {
        this(tokens, fps, seed, timings, promptTokens, decoder, null);
    }

    /** As above, with frames already decoded ([samples][frames]); {@link #frames} then returns copies of them. */
    public Video(int[][][] tokens, int fps, long seed, Map<GenerationStage, Duration> timings, int[] promptTokens,
            ImageDecoder decoder, List<List<BufferedImage>> images) {
        this.tokens = deepCopy(tokens);
        this.fps = fps;
        this.seed = seed;
        EnumMap<GenerationStage, Duration> t = new EnumMap<>(GenerationStage.class);
        t.putAll(timings);
        this.timings = Collections.unmodifiableMap(t);
        this.promptTokens = promptTokens.clone();
        this.decoder = decoder;
        List<List<BufferedImage>> copy = null;
        if (images != null) {
            copy = new ArrayList<>();
            for (List<BufferedImage> l : images) {
                copy.add(List.copyOf(l));
            }
        }
        this.images = copy;
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

    /** Whether frames can be decoded to pixels. */
    public boolean hasDecoder() {
        return decoder != null || images != null;
    }

    /**
     * Writes sample 0 to {@code file}, the format chosen by the extension: {@code .gif}, {@code .mp4}, a folder or
     * {@code .png} for numbered PNG frames plus a contact sheet.
     */
    public void write(Path file) {
        write(0, file, VideoFormat.fromPath(file));
    }

    /** Writes one sample in the given format (frames decoded to pixels first). */
    public void write(int sample, Path file, VideoFormat format) {
        if (sample < 0 || sample >= samples()) {
            throw new CogVideoException("sample must be in [0, " + samples() + "), got " + sample);
        }
        VideoWriters.write(frames(sample), fps, file, format);
    }

    /** Decodes every frame of a sample to pixels. */
    public List<BufferedImage> frames(int sample) {
        if (images != null) {
            List<BufferedImage> out = new ArrayList<>();
            for (BufferedImage im : images.get(sample)) {
                BufferedImage c = new BufferedImage(im.getWidth(), im.getHeight(), im.getType());
                c.getGraphics().drawImage(im, 0, 0, null);
                out.add(c);
            }
            return out;
        }
        if (decoder == null) {
            throw new CogVideoException("no image decoder configured: build the generator with an image tokenizer "
                    + "(VideoGenerator.Builder#imageTokenizer) to get pixels; tokens are available via frameTokens()");
        }
        List<BufferedImage> out = new ArrayList<>(frameCount());
        for (int[] f : tokens[sample]) {
            out.add(decoder.decode(f));
        }
        return out;
    }
}
