package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import io.cogvideo.video.GifWriter;
import io.cogvideo.video.VideoReader;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate --first-frame} and {@code interpolate} on the embedded demo model (random weights: the new frames
 * are noise, but the frame counts and the given frames are checkable), with the golden tiny VQ-VAE (which has an
 * encoder and the demo's 512 image tokens) as {@code --image-tokenizer}; and every refusal up front: one error line,
 * a non-zero exit code and no output file.
 */
class ImageToVideoCliTest {
    /** The demo's frames: 20 x 20 tokens at compress rate 8. */
    private static final int FRAME = 96; // the demo model's frame (12 x 12 tokens)

    @TempDir
    Path tmp;

    private static Path vqvae;

    @BeforeAll
    static void findEncoder() {
        String p = System.getProperty("cogvideo.golden.vqvae");
        Path dir = p != null && !p.isBlank() ? Paths.get(p) : Paths.get("../../shared/golden/vqvae-tiny");
        vqvae = dir.resolve("ice_image_tiny.pt");
    }

    private static void requireEncoder() {
        Assumptions.assumeTrue(Files.isRegularFile(vqvae), "golden tiny VQ-VAE " + vqvae.toAbsolutePath()
                + " not found (-Dcogvideo.golden.vqvae=DIR): the encoding runs are skipped");
    }

    private static BufferedImage shape(int w, int h, Color c, int x) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(c);
        g.fillOval(x, h / 3, w / 4, w / 4);
        g.dispose();
        return img;
    }

    private Path gif(String name, int frames, int size) {
        List<BufferedImage> f = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            f.add(shape(size, size, Color.RED, 10 + i * 8));
        }
        Path p = tmp.resolve(name);
        GifWriter.write(f, 1.0, p);
        return p;
    }

    /** The tokens the CLI must have given: the same reader, the same tokenizer, the same Resize + CenterCrop. */
    private static List<int[]> encode(List<BufferedImage> pictures) {
        try (Backend b = Backends.select("cpu").create(BackendOptions.defaults());
                ImageTokenizer t = ImageTokenizer.load(vqvae, b)) {
            List<int[]> out = new ArrayList<>();
            for (BufferedImage p : pictures) {
                out.add(t.encode(p, FRAME, ImageTokenizer.COGVIDEO_COMPRESS_RATE));
            }
            return out;
        }
    }

    private static int[][] npyFrames(Path npy) {
        NpyArray a = NpyArray.read(npy);
        float[] v = a.floats();
        int per = a.shape()[1];
        int[][] out = new int[a.shape()[0]][per];
        for (int f = 0; f < out.length; f++) {
            for (int i = 0; i < per; i++) {
                out[f][i] = Math.round(v[f * per + i]);
            }
        }
        return out;
    }

    private static void refused(CliErrorsTest.Result r, Path output, String... fragments) {
        assertThat(r.code()).as(r.err()).isNotZero();
        String err = r.err().strip();
        assertThat(err.lines().count()).as("one line: " + err).isEqualTo(1);
        assertThat(err).startsWith("error: ");
        for (String f : fragments) {
            assertThat(err).contains(f);
        }
        assertThat(output).doesNotExist();
        try (Stream<Path> files = Files.list(output.toAbsolutePath().getParent())) {
            assertThat(files.filter(p -> p.getFileName().toString().contains(".part")).toList())
                    .as("no temporary file left").isEmpty();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void firstFrameIsTheEncodedPicture() throws Exception {
        requireEncoder();
        // not square and not the frame size: resized to 96 on the shorter side and center-cropped
        Path png = tmp.resolve("first.png");
        BufferedImage picture = shape(240, 200, Color.BLUE, 60);
        ImageIO.write(picture, "png", png.toFile());
        Path out = tmp.resolve("v.npy");
        CliErrorsTest.Result r = CliErrorsTest.run("generate", "一只猫", "--first-frame", png.toString(),
                "--image-tokenizer", vqvae.toString(), "--frame-rate", "1", "--no-guidance", "--seed", "3",
                "-o", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        int[][] frames = npyFrames(out);
        assertThat(frames.length).isEqualTo(5);
        int[] expected = encode(List.of(VideoReader.readImage(png))).get(0);
        assertThat(frames[0]).as("frame 0 is the encoded picture").containsExactly(expected);
        assertThat(Arrays.equals(frames[1], expected)).as("frame 1 is generated").isFalse();
    }

    @Test
    void interpolateKeepsTheInputFramesAtTheirIndexes() throws Exception {
        requireEncoder();
        Path in = gif("in.gif", 5, 96); // smaller than the frame: resized up to 96
        Path out = tmp.resolve("out.npy");
        CliErrorsTest.Result r = CliErrorsTest.run("interpolate", in.toString(), "一只猫", "--frame-rate", "2",
                "--image-tokenizer", vqvae.toString(), "--seed", "5", "-o", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        int[][] frames = npyFrames(out);
        assertThat(frames.length).isEqualTo(9);
        List<int[]> expected = encode(VideoReader.readFrames(in));
        for (int k = 0; k < 5; k++) {
            assertThat(frames[2 * k]).as("input frame %d at index %d", k, 2 * k).containsExactly(expected.get(k));
        }
        // the PNG-folder input is read by the same VideoReader (VideoReaderTest); one model run keeps this short
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.filter(p -> p.getFileName().toString().contains(".part")).toList()).isEmpty();
        }
    }

    @Test
    void firstFrameRefusals() throws Exception {
        Path out = tmp.resolve("o.gif");
        Path missing = tmp.resolve("missing.png");
        refused(CliErrorsTest.run("generate", "一只猫", "--first-frame", missing.toString(), "--image-tokenizer",
                tmp.resolve("any.pt").toString(), "-o", out.toString()), out, missing.toString(), "does not exist");
        Path text = Files.writeString(tmp.resolve("text.png"), "hello");
        refused(CliErrorsTest.run("generate", "一只猫", "--first-frame", text.toString(), "--image-tokenizer",
                "x.pt", "-o", out.toString()), out, text.toString(), "not a PNG, JPEG or GIF");
        Path huge = tmp.resolve("huge.png");
        ImageIO.write(new BufferedImage(4097, 2, BufferedImage.TYPE_INT_RGB), "png", huge.toFile());
        refused(CliErrorsTest.run("generate", "一只猫", "--first-frame", huge.toString(), "--image-tokenizer",
                "x.pt", "-o", out.toString()), out, huge.toString(), "4097x2", "at most 4096x4096");
        Path ok = tmp.resolve("ok.png");
        ImageIO.write(shape(64, 64, Color.RED, 5), "png", ok.toFile());
        // the embedded demo model's VQ-VAE has its encoder, so --first-frame needs no --image-tokenizer; a checkpoint
        // of one's own without --image-tokenizer is refused before anything loads
        refused(CliErrorsTest.run("generate", "一只猫", "--first-frame", ok.toString(), "--checkpoint",
                tmp.toString(), "--text-tokenizer", "t.model", "-o", out.toString()), out,
                "--first-frame needs an image tokenizer with its encoder", "--image-tokenizer");
    }

    @Test
    void interpolateRefusals() throws Exception {
        Path out = tmp.resolve("o.gif");
        String tok = vqvae.toString();
        Path missing = tmp.resolve("missing.gif");
        refused(CliErrorsTest.run("interpolate", missing.toString(), "一只猫", "--image-tokenizer", tok, "-o",
                out.toString()), out, missing.toString(), "does not exist");
        Path six = gif("six.gif", 6, 32);
        refused(CliErrorsTest.run("interpolate", six.toString(), "一只猫", "--image-tokenizer", tok, "-o",
                out.toString()), out, six.toString(), "has 6 frames", "5, 9 or 17");
        Path nine = gif("nine.gif", 9, 32);
        refused(CliErrorsTest.run("interpolate", nine.toString(), "一只猫", "--frame-rate", "2", "--image-tokenizer",
                tok, "-o", out.toString()), out, "frameRate must be above the input video's 2 fps (9 frames)",
                "allowed: 4, 8", "got 2");
        refused(CliErrorsTest.run("interpolate", nine.toString(), "一只猫", "--frame-rate", "3", "--image-tokenizer",
                tok, "-o", out.toString()), out, "1, 2, 4, 8", "got 3");
        Path five = gif("five.gif", 5, 32);
        byte[] b = Files.readAllBytes(five);
        Path cut = Files.write(tmp.resolve("cut.gif"), Arrays.copyOf(b, b.length - 40));
        refused(CliErrorsTest.run("interpolate", cut.toString(), "一只猫", "--image-tokenizer", tok, "-o",
                out.toString()), out, cut.toString(), "truncated or corrupt");
        Path dir = Files.createDirectories(tmp.resolve("mixed"));
        for (int i = 0; i < 5; i++) {
            ImageIO.write(shape(i == 3 ? 40 : 32, 32, Color.RED, 2), "png", dir.resolve("f" + i + ".png").toFile());
        }
        refused(CliErrorsTest.run("interpolate", dir.toString(), "一只猫", "--image-tokenizer", tok, "-o",
                out.toString()), out, "f3.png is 40x32", "same size");
        Path avi = tmp.resolve("o.avi");
        refused(CliErrorsTest.run("interpolate", five.toString(), "一只猫", "--image-tokenizer", tok, "-o",
                avi.toString()), avi, "[.gif, .mp4, .npy]");
        refused(CliErrorsTest.run("interpolate", five.toString(), "一只猫", "--image-tokenizer", tok, "-o",
                out.toString(), "--temperature", "0"), out,
                "temperature must be > 0");
    }

    @Test
    void helpNamesTheNewOptionsAndThePlaceForDemoPrompts() {
        CliErrorsTest.Result g = CliErrorsTest.run("generate", "--help");
        assertThat(g.code()).isZero();
        assertThat(g.out()).contains("--first-frame=IMAGE", "Prompts the demo model understands:");
        CliErrorsTest.Result i = CliErrorsTest.run("interpolate", "--help");
        assertThat(i.code()).isZero();
        assertThat(i.out()).contains("Usage: cogvideo interpolate", "INPUT", "5, 9 or 17");
    }
}
