package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.w3c.dom.Node;

class GifWriterTest {

    private static final String FORMAT = "javax_imageio_gif_image_1.0";

    @TempDir
    Path tmp;

    @Test
    void eightFpsAlternatesThirteenAndTwelveCentiseconds() {
        int[] delays = GifWriter.frameDelaysCentiseconds(33, 8.0);
        assertThat(Arrays.copyOf(delays, 6)).containsExactly(13, 12, 13, 12, 13, 12);
        // 33 frames at 8 fps last 4.125 s = 412.5 cs; the cumulative rounding ends on 413.
        assertThat(Arrays.stream(delays).sum()).isEqualTo(413);
    }

    @Test
    void delaysKeepEveryFrameStartWithinHalfACentisecond() {
        for (double fps : new double[] {1, 3, 7, 8, 12.5, 24, 30, 29.97, 50}) {
            int[] delays = GifWriter.frameDelaysCentiseconds(100, fps);
            long start = 0;
            for (int i = 0; i < delays.length; i++) {
                start += delays[i];
                assertThat(Math.abs(start - (i + 1) * 100.0 / fps)).as("fps %s frame %d", fps, i)
                        .isLessThanOrEqualTo(0.5);
                assertThat(delays[i]).isBetween((int) Math.floor(100 / fps), (int) Math.ceil(100 / fps));
            }
        }
        assertThat(GifWriter.frameDelaysCentiseconds(5, 10.0)).containsOnly(10);
    }

    @ParameterizedTest
    @CsvSource({"160, 160, 33, 8.0", "480, 480, 9, 8.0", "201, 97, 12, 30.0"})
    void roundTripKeepsFramesSizesDelaysAndLoop(int width, int height, int count, double fps) throws Exception {
        List<BufferedImage> frames = TestFrames.movingSquare(count, width, height);
        Path gif = tmp.resolve("clip.gif");
        GifWriter.write(frames, fps, gif);

        int[] expectedDelays = GifWriter.frameDelaysCentiseconds(count, fps);
        ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            reader.setInput(in);
            assertThat(reader.getNumImages(true)).isEqualTo(count);
            List<Integer> delays = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                BufferedImage decoded = reader.read(i);
                assertThat(decoded.getWidth()).isEqualTo(width);
                assertThat(decoded.getHeight()).isEqualTo(height);
                // 256-colour palette per frame, no dithering: gradients band, but stay close.
                assertThat(TestFrames.meanAbsError(frames.get(i), decoded, width, height)).isLessThan(6.0);

                IIOMetadataNode root = (IIOMetadataNode) reader.getImageMetadata(i).getAsTree(FORMAT);
                IIOMetadataNode gce = child(root, "GraphicControlExtension");
                assertThat(gce).isNotNull();
                delays.add(Integer.parseInt(gce.getAttribute("delayTime")));
                assertThat(gce.getAttribute("disposalMethod")).isEqualTo("none");
                assertThat(gce.getAttribute("transparentColorFlag")).isEqualTo("FALSE");
                if (i == 0) {
                    assertLoopsForever(root);
                }
            }
            assertThat(delays).containsExactlyElementsOf(Arrays.stream(expectedDelays).boxed().toList());
        } finally {
            reader.dispose();
        }
    }

    @Test
    void replacesALongerExistingFile() throws Exception {
        Path gif = tmp.resolve("clip.gif");
        Files.write(gif, new byte[5_000_000]);
        GifWriter.write(TestFrames.movingSquare(2, 32, 32), 8.0, gif);
        assertThat(Files.size(gif)).isLessThan(100_000);
        byte[] head = Arrays.copyOf(Files.readAllBytes(gif), 6);
        assertThat(new String(head, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("GIF89a");
        // The trailer (0x3B) must be the last byte: nothing of the old content is left behind.
        byte[] all = Files.readAllBytes(gif);
        assertThat(all[all.length - 1]).isEqualTo((byte) 0x3B);
    }

    @Test
    void alphaIsIgnored() throws Exception {
        List<BufferedImage> frames = TestFrames.translucent(2, 40, 30);
        Path gif = tmp.resolve("alpha.gif");
        GifWriter.write(frames, 10.0, gif);
        BufferedImage first = ImageIO.read(gif.toFile());
        assertThat(first.getRGB(0, 0) >>> 24).isEqualTo(0xff);
        assertThat(TestFrames.meanAbsError(frames.get(0), first, 40, 30)).isLessThan(6.0);
    }

    @Test
    void rejectsFrameRatesGifCannotShow() {
        List<BufferedImage> frames = TestFrames.movingSquare(2, 16, 16);
        Path gif = tmp.resolve("fast.gif");
        assertThatThrownBy(() -> GifWriter.write(frames, 60.0, gif))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("60.0")
                .hasMessageContaining("GIF")
                .hasMessageContaining("fps <= 50.0");
        assertThat(gif).doesNotExist();
        assertThatThrownBy(() -> GifWriter.frameDelaysCentiseconds(0, 8.0))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("frameCount 0");
    }

    private static void assertLoopsForever(IIOMetadataNode root) {
        IIOMetadataNode extensions = child(root, "ApplicationExtensions");
        assertThat(extensions).as("ApplicationExtensions on frame 0").isNotNull();
        boolean found = false;
        for (Node n = extensions.getFirstChild(); n != null; n = n.getNextSibling()) {
            IIOMetadataNode ext = (IIOMetadataNode) n;
            if ("NETSCAPE".equals(ext.getAttribute("applicationID"))
                    && "2.0".equals(ext.getAttribute("authenticationCode"))) {
                assertThat((byte[]) ext.getUserObject()).containsExactly(1, 0, 0);
                found = true;
            }
        }
        assertThat(found).as("NETSCAPE2.0 loop extension").isTrue();
    }

    private static IIOMetadataNode child(IIOMetadataNode parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (name.equals(n.getNodeName())) {
                return (IIOMetadataNode) n;
            }
        }
        return null;
    }
}
