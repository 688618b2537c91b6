package io.cogvideo.examples.demo;

import io.cogvideo.CogVideoException;
import io.cogvideo.examples.demo.world.Caption;
import io.cogvideo.examples.demo.world.WorldClip;
import io.cogvideo.examples.demo.world.WorldDataset;
import io.cogvideo.examples.demo.world.WorldRenderer;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import io.cogvideo.training.TrainingSample;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The demo's training videos as image tokens: every clip of a {@link WorldDataset} rendered at {@code frameRate} fps
 * over 4 s ({@code 4 * frameRate + 1} frames) and encoded with the trained VQ-VAE. Stored in a small binary file
 * ({@code CVWT} magic, version 2, frame rate, counts, then per video the caption index and {@code frames x tokens}
 * 16-bit ids), written atomically. Immutable.
 *
 * @param frameRate frames per second of the stored videos, one of 1, 2, 4, 8
 * @param captions  caption of each video
 * @param tokens    [videos][frames][tokensPerFrame] image token ids
 */
public record WorldTokens(int frameRate, List<Caption> captions, int[][][] tokens) {
    /** Frame rate of the stage-2 training videos (the stage-2 rounds at 2.0, 1.0 and 0.5 s need 8 fps). */
    public static final int FRAME_RATE = 8;
    private static final int MAGIC = 0x43565754; // "CVWT"
    private static final int VERSION = 2;
    private static final int HEADER = 24;
    private static final int MAX_VIDEOS = 1 << 20;
    private static final int MAX_FRAMES = 1024;
    private static final int MAX_TOKENS = 1 << 16;

    public WorldTokens {
        captions = List.copyOf(captions);
        if (frameRate != 1 && frameRate != 2 && frameRate != 4 && frameRate != 8) {
            throw new CogVideoException("frame rate " + frameRate + " is invalid; allowed: 1, 2, 4, 8");
        }
        if (captions.size() != tokens.length) {
            throw new CogVideoException(captions.size() + " captions for " + tokens.length + " videos");
        }
    }

    /** Number of videos. */
    public int size() {
        return tokens.length;
    }

    /**
     * Renders and encodes every clip of {@code dataset} at {@code frameRate} fps. A frame is rendered and encoded once
     * however many clips show it (the same caption, size and centre draw the same picture): with clips on a grid
     * ({@link WorldDataset#grid()}) most key frames repeat.
     *
     * @param canvas    frame side in pixels
     * @param frameRate 1, 2, 4 or 8
     * @param batch     frames per encoder call, {@code >= 1}
     * @param progress  called with the number of distinct frames encoded and the number there are, after each batch
     *                  (may be null)
     */
    public static WorldTokens encode(WorldDataset dataset, ImageTokenizer tokenizer, int canvas, int frameRate,
            int batch, BiConsumer<Integer, Integer> progress) {
        if (batch < 1) {
            throw new CogVideoException("batch " + batch + " is invalid; allowed: >= 1");
        }
        List<WorldClip> clips = dataset.clips();
        int frames = (int) Math.round(WorldClip.DURATION_SECONDS * frameRate) + 1;
        // distinct pictures, in first-seen order
        Map<List<Long>, Integer> index = new LinkedHashMap<>();
        List<WorldClip> whose = new ArrayList<>();
        List<Double> when = new ArrayList<>();
        int[][] ref = new int[clips.size()][frames];
        for (int v = 0; v < clips.size(); v++) {
            WorldClip clip = clips.get(v);
            for (int f = 0; f < frames; f++) {
                double t = f / (double) frameRate;
                double[] c = clip.centreAt(t);
                List<Long> key = List.of((long) clip.caption().colour().ordinal(),
                        (long) clip.caption().shape().ordinal(), Math.round(clip.size() * 1e9),
                        Math.round(c[0] * 1e9), Math.round(c[1] * 1e9));
                Integer k = index.get(key);
                if (k == null) {
                    k = whose.size();
                    index.put(key, k);
                    whose.add(clip);
                    when.add(t);
                }
                ref[v][f] = k;
            }
        }
        WorldRenderer renderer = new WorldRenderer();
        int distinct = whose.size();
        int[][] ids = new int[distinct][];
        int per = 3 * canvas * canvas;
        for (int k0 = 0; k0 < distinct; k0 += batch) {
            int n = Math.min(batch, distinct - k0);
            float[] x = new float[n * per];
            for (int i = 0; i < n; i++) {
                System.arraycopy(renderer.render(whose.get(k0 + i), when.get(k0 + i), canvas), 0, x, i * per, per);
            }
            int[] out = tokenizer.encodePixels(x, n, canvas, canvas, ImageTokenizer.COGVIDEO_COMPRESS_RATE);
            int t = out.length / n;
            for (int i = 0; i < n; i++) {
                ids[k0 + i] = Arrays.copyOfRange(out, i * t, (i + 1) * t);
            }
            if (progress != null) {
                progress.accept(k0 + n, distinct);
            }
        }
        int[][][] tok = new int[clips.size()][frames][];
        List<Caption> caps = new ArrayList<>(clips.size());
        for (int v = 0; v < clips.size(); v++) {
            for (int f = 0; f < frames; f++) {
                tok[v][f] = ids[ref[v][f]].clone();
            }
            caps.add(clips.get(v).caption());
        }
        return new WorldTokens(frameRate, caps, tok);
    }

    /** The first frame of every video (data for the image model), as videos of one frame. */
    public WorldTokens firstFrames() {
        int[][][] f = new int[tokens.length][][];
        for (int v = 0; v < tokens.length; v++) {
            f[v] = new int[][] {tokens[v][0].clone()};
        }
        return new WorldTokens(frameRate, captions, f);
    }

    /** The videos as training samples, with their plain captions (the recipe adds the "一个" variants). */
    public List<TrainingSample> samples() {
        List<TrainingSample> out = new ArrayList<>(tokens.length);
        for (int v = 0; v < tokens.length; v++) {
            Caption c = captions.get(v);
            List<int[]> frames = new ArrayList<>();
            Collections.addAll(frames, tokens[v]);
            out.add(TrainingSample.ofTokens(c.text(), frameRate, frames));
        }
        return out;
    }

    /** Writes the file atomically (a temporary file in the same folder, then a rename). */
    public void write(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
            try (OutputStream os = Files.newOutputStream(tmp);
                    DataOutputStream out = new DataOutputStream(new BufferedOutputStream(os))) {
                int frames = tokens.length == 0 ? 0 : tokens[0].length;
                int per = frames == 0 ? 0 : tokens[0][0].length;
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
                out.writeInt(frameRate);
                out.writeInt(tokens.length);
                out.writeInt(frames);
                out.writeInt(per);
                for (int v = 0; v < tokens.length; v++) {
                    out.writeInt(captions.get(v).index());
                    for (int[] f : tokens[v]) {
                        for (int id : f) {
                            out.writeShort(id);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CogVideoException("cannot write the demo token file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a file written by {@link #write}; sizes are checked against limits and the file's length. */
    public static WorldTokens read(Path file) {
        try (InputStream is = Files.newInputStream(file);
                DataInputStream in = new DataInputStream(new BufferedInputStream(is))) {
            long length = Files.size(file);
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                throw new CogVideoException("demo token file " + file + " has no CVWT version-" + VERSION + " header");
            }
            int rate = in.readInt();
            if (rate != 1 && rate != 2 && rate != 4 && rate != 8) {
                throw new CogVideoException("demo token file " + file + ": frame rate " + rate
                        + " is invalid; allowed: 1, 2, 4, 8");
            }
            int videos = in.readInt();
            int frames = in.readInt();
            int per = in.readInt();
            if (videos < 0 || videos > MAX_VIDEOS || frames < 1 || frames > MAX_FRAMES || per < 1 || per > MAX_TOKENS
                    || HEADER + (long) videos * (4L + 2L * frames * per) != length) {
                throw new CogVideoException("demo token file " + file + ": " + videos + " videos of " + frames
                        + " frames of " + per + " tokens do not match its " + length + " bytes");
            }
            List<Caption> all = Caption.all();
            List<Caption> caps = new ArrayList<>(videos);
            int[][][] tok = new int[videos][frames][per];
            for (int v = 0; v < videos; v++) {
                int c = in.readInt();
                if (c < 0 || c >= all.size()) {
                    throw new CogVideoException("demo token file " + file + ": caption index " + c
                            + " outside [0, " + all.size() + ")");
                }
                caps.add(all.get(c));
                for (int f = 0; f < frames; f++) {
                    for (int i = 0; i < per; i++) {
                        tok[v][f][i] = in.readUnsignedShort();
                    }
                }
            }
            return new WorldTokens(rate, caps, tok);
        } catch (EOFException e) {
            throw new CogVideoException("demo token file " + file + " is truncated", e);
        } catch (IOException e) {
            throw new CogVideoException("cannot read the demo token file " + file + ": " + e.getMessage(), e);
        }
    }
}
