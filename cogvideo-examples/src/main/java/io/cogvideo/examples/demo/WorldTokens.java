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
import java.util.Collections;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * The demo's training videos as image tokens: every clip of a {@link WorldDataset} rendered at
 * {@link #FRAME_RATE} fps over 4 s ({@code 33} frames) and encoded with the trained VQ-VAE. Stored in a small binary
 * file ({@code CVWT} magic, version, counts, then per video the caption index and {@code frames x tokens} 16-bit ids),
 * written atomically. Immutable.
 *
 * @param captions caption of each video
 * @param tokens   [videos][frames][tokensPerFrame] image token ids
 */
public record WorldTokens(List<Caption> captions, int[][][] tokens) {
    /** Source frame rate of the stored videos. */
    public static final int FRAME_RATE = 8;
    private static final int MAGIC = 0x43565754; // "CVWT"
    private static final int VERSION = 1;
    private static final int MAX_VIDEOS = 1 << 20;
    private static final int MAX_FRAMES = 1024;
    private static final int MAX_TOKENS = 1 << 16;

    public WorldTokens {
        captions = List.copyOf(captions);
        if (captions.size() != tokens.length) {
            throw new CogVideoException(captions.size() + " captions for " + tokens.length + " videos");
        }
    }

    /** Number of videos. */
    public int size() {
        return tokens.length;
    }

    /**
     * Renders and encodes the first frame of every clip of {@code dataset} (videos of one frame: data for the image
     * model), {@code batch} clips per encoder call.
     *
     * @param progress called with the number of clips done after each batch (may be null)
     */
    public static WorldTokens encodeFirstFrames(WorldDataset dataset, ImageTokenizer tokenizer, int canvas, int batch,
            IntConsumer progress) {
        WorldRenderer renderer = new WorldRenderer();
        List<WorldClip> clips = dataset.clips();
        int[][][] out = new int[clips.size()][][];
        List<Caption> caps = new ArrayList<>(clips.size());
        int per = 3 * canvas * canvas;
        for (int c0 = 0; c0 < clips.size(); c0 += batch) {
            int n = Math.min(batch, clips.size() - c0);
            float[] x = new float[n * per];
            for (int i = 0; i < n; i++) {
                System.arraycopy(renderer.render(clips.get(c0 + i), 0.0, canvas), 0, x, i * per, per);
            }
            int[] ids = tokenizer.encodePixels(x, n, canvas, canvas, ImageTokenizer.COGVIDEO_COMPRESS_RATE);
            int t = ids.length / n;
            for (int i = 0; i < n; i++) {
                out[c0 + i] = new int[][] {java.util.Arrays.copyOfRange(ids, i * t, (i + 1) * t)};
                caps.add(clips.get(c0 + i).caption());
            }
            if (progress != null) {
                progress.accept(c0 + n);
            }
        }
        return new WorldTokens(caps, out);
    }

    /**
     * Renders and encodes every clip of {@code dataset}.
     *
     * @param canvas   frame side in pixels
     * @param progress called with the number of videos done after each video (may be null)
     */
    public static WorldTokens encode(WorldDataset dataset, ImageTokenizer tokenizer, int canvas, int batch,
            IntConsumer progress) {
        WorldRenderer renderer = new WorldRenderer();
        List<WorldClip> clips = dataset.clips();
        int[][][] out = new int[clips.size()][][];
        List<Caption> caps = new ArrayList<>(clips.size());
        for (int v = 0; v < clips.size(); v++) {
            WorldClip clip = clips.get(v);
            float[][] frames = renderer.video(clip, FRAME_RATE, canvas);
            int per = frames[0].length;
            out[v] = new int[frames.length][];
            for (int f0 = 0; f0 < frames.length; f0 += batch) {
                int n = Math.min(batch, frames.length - f0);
                float[] x = new float[n * per];
                for (int i = 0; i < n; i++) {
                    System.arraycopy(frames[f0 + i], 0, x, i * per, per);
                }
                int[] ids = tokenizer.encodePixels(x, n, canvas, canvas, ImageTokenizer.COGVIDEO_COMPRESS_RATE);
                int t = ids.length / n;
                for (int i = 0; i < n; i++) {
                    int[] f = new int[t];
                    System.arraycopy(ids, i * t, f, 0, t);
                    out[v][f0 + i] = f;
                }
            }
            caps.add(clip.caption());
            if (progress != null) {
                progress.accept(v + 1);
            }
        }
        return new WorldTokens(caps, out);
    }

    /** The videos as training samples, with their plain captions (the recipe adds the "一个" variants). */
    public List<TrainingSample> samples() {
        List<TrainingSample> out = new ArrayList<>(tokens.length);
        for (int v = 0; v < tokens.length; v++) {
            Caption c = captions.get(v);
            List<int[]> frames = new ArrayList<>();
            Collections.addAll(frames, tokens[v]);
            out.add(TrainingSample.ofTokens(c.text(), FRAME_RATE, frames));
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
                throw new CogVideoException("demo token file " + file + " has no CVWT version-1 header");
            }
            int videos = in.readInt();
            int frames = in.readInt();
            int per = in.readInt();
            if (videos < 0 || videos > MAX_VIDEOS || frames < 1 || frames > MAX_FRAMES || per < 1 || per > MAX_TOKENS
                    || 20L + (long) videos * (4L + 2L * frames * per) != length) {
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
            return new WorldTokens(caps, tok);
        } catch (EOFException e) {
            throw new CogVideoException("demo token file " + file + " is truncated", e);
        } catch (IOException e) {
            throw new CogVideoException("cannot read the demo token file " + file + ": " + e.getMessage(), e);
        }
    }
}
