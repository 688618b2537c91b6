package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link VideoReader}: what it reads back, and each refusal naming the file and the value. */
class VideoReaderTest {
    @TempDir
    Path tmp;

    private static BufferedImage square(int size, Color c) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, size, size);
        g.setColor(c);
        g.fillRect(size / 4, size / 4, size / 2, size / 2);
        g.dispose();
        return img;
    }

    private List<BufferedImage> frames(int n, int size) {
        Color[] colours = {Color.RED, Color.GREEN, Color.BLUE, Color.YELLOW, Color.BLACK};
        List<BufferedImage> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(square(size, colours[i % colours.length]));
        }
        return out;
    }

    @Test
    void gifFramesComeBackComposedAtTheirSize() {
        Path gif = tmp.resolve("in.gif");
        GifWriter.write(frames(5, 40), 1.0, gif);
        VideoReader.VideoInfo info = VideoReader.probe(gif);
        assertThat(info).isEqualTo(new VideoReader.VideoInfo(gif, 40, 40, 5));
        List<BufferedImage> back = VideoReader.readFrames(gif);
        assertThat(back).hasSize(5);
        // the centre keeps each frame's colour (GIF palettes are exact for these five), the corner stays white
        int[] expected = {0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x000000};
        for (int i = 0; i < 5; i++) {
            assertThat(back.get(i).getType()).isEqualTo(BufferedImage.TYPE_INT_RGB);
            assertThat(back.get(i).getRGB(20, 20) & 0xffffff).as("frame %d centre", i).isEqualTo(expected[i]);
            assertThat(back.get(i).getRGB(1, 1) & 0xffffff).isEqualTo(0xffffff);
        }
        assertThat(VideoReader.readImage(gif).getRGB(20, 20) & 0xffffff).as("a GIF's first frame").isEqualTo(0xff0000);
    }

    @Test
    void pngFolderInNameOrderAndSizesChecked() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("frames"));
        List<BufferedImage> f = frames(3, 16);
        for (int i = 0; i < 3; i++) {
            ImageIO.write(f.get(i), "png", dir.resolve(String.format("%04d.png", 2 - i)).toFile());
        }
        List<BufferedImage> back = VideoReader.readFrames(dir);
        assertThat(back).hasSize(3);
        assertThat(back.get(0).getRGB(8, 8) & 0xffffff).as("0000.png is the third picture").isEqualTo(0x0000ff);
        ImageIO.write(square(20, Color.RED), "png", dir.resolve("0003.png").toFile());
        assertThatThrownBy(() -> VideoReader.probe(dir)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("0003.png is 20x20").hasMessageContaining("is 16x16")
                .hasMessageContaining("same size");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> VideoReader.readFrames(empty)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(empty + " holds no .png file");
    }

    @Test
    void refusalsNameTheFileAndTheValue() throws Exception {
        Path missing = tmp.resolve("nope.png");
        assertThatThrownBy(() -> VideoReader.readImage(missing)).isInstanceOf(CogVideoException.class)
                .hasMessage("input file " + missing + " does not exist");
        assertThatThrownBy(() -> VideoReader.readImage(tmp)).isInstanceOf(CogVideoException.class)
                .hasMessage("input " + tmp + " is not a regular file");
        Path text = Files.writeString(tmp.resolve("notes.png"), "not a picture at all");
        assertThatThrownBy(() -> VideoReader.readImage(text)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(text.toString()).hasMessageContaining("is not a PNG, JPEG or GIF");
        Path wide = tmp.resolve("wide.png");
        ImageIO.write(new BufferedImage(5000, 1, BufferedImage.TYPE_INT_RGB), "png", wide.toFile());
        assertThatThrownBy(() -> VideoReader.readImage(wide)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(wide + " is 5000x1 pixels; at most 4096x4096");
        Path still = tmp.resolve("still.png");
        ImageIO.write(square(8, Color.RED), "png", still.toFile());
        assertThatThrownBy(() -> VideoReader.probe(still)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("is a png picture; a video input must be a GIF or a folder of PNG frames");
    }

    @Test
    void aGifDeclaringAHugeScreenIsRefusedBeforeDecoding() throws Exception {
        Path gif = tmp.resolve("huge.gif");
        GifWriter.write(frames(2, 8), 1.0, gif);
        byte[] b = Files.readAllBytes(gif);
        // logical screen descriptor: width and height, little-endian, at bytes 6..9; 60000 x 60000 would need 14 GB
        b[6] = (byte) 0x60;
        b[7] = (byte) 0xea;
        b[8] = (byte) 0x60;
        b[9] = (byte) 0xea;
        Files.write(gif, b);
        assertThatThrownBy(() -> VideoReader.readFrames(gif)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(gif + " is 60000x60000 pixels; at most 4096x4096");
        assertThatThrownBy(() -> VideoReader.readImage(gif)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("60000x60000");
    }

    @Test
    void aTruncatedGifFailsNamingTheFile() throws Exception {
        Path gif = tmp.resolve("cut.gif");
        GifWriter.write(frames(5, 40), 1.0, gif);
        byte[] b = Files.readAllBytes(gif);
        Path cut = tmp.resolve("cut2.gif");
        Files.write(cut, Arrays.copyOf(b, b.length / 2));
        assertThatThrownBy(() -> VideoReader.readFrames(cut)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("input file " + cut + " is a truncated or corrupt GIF");
        assertThatThrownBy(() -> VideoReader.readImage(cut)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(cut.toString());
    }
}
