package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.CheckpointException;
import io.cogvideo.checkpoint.ReadLimits;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import io.cogvideo.training.vq.VqArchitecture;
import io.cogvideo.training.vq.VqVaeModel;
import io.cogvideo.training.vq.VqVaeTrainer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pictures and token grids over the pixel budgets (issue #18): refused before decoding, with the limit named. */
class HostileImageTest {
    @TempDir
    Path tmp;

    /** A PNG whose header declares {@code w x h} but that holds no pixel data. */
    static byte[] pngHeaderOnly(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0)
                .put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    @Test
    void hugeDeclaredSizeIsRefusedBeforeDecoding() throws IOException {
        Path f = Files.write(tmp.resolve("huge.png"), pngHeaderOnly(2_000_000_000, 2_000_000_000));
        assertThatThrownBy(() -> VideoReader.readImage(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("2000000000x2000000000");
    }

    @Test
    void pixelBudgetIsConfigurableAndNamed() throws IOException {
        Path f = tmp.resolve("small.png");
        ImageIO.write(new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB), "png", f.toFile());
        String key = ReadLimits.PROPERTY_PREFIX + "imagePixels";
        System.setProperty(key, "500");
        try {
            assertThatThrownBy(() -> VideoReader.readImage(f)).isInstanceOf(CogVideoException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("600 pixels")
                    .hasMessageContaining("-Dcogvideo.limits.imagePixels");
        } finally {
            System.clearProperty(key);
        }
        assertThat(VideoReader.readImage(f).getWidth()).isEqualTo(30);
    }

    @Test
    void fifoOrFolderAsPictureIsRefused() {
        assertThatThrownBy(() -> VideoReader.readImage(tmp)).isInstanceOf(CogVideoException.class);
        if (Files.exists(Path.of("/dev/zero"))) {
            assertThatThrownBy(() -> VideoReader.readImage(Path.of("/dev/zero")))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("a FIFO, device or socket");
        }
    }

    @Test
    void tokenizerRefusesHugeEncodesAndTokenGridsBeforeAllocating() {
        VqArchitecture small = new VqArchitecture(32, 32, 16, 64, List.of(1, 1, 2), 1, List.of(1, 1, 1, 2));
        Path file = tmp.resolve("vq.safetensors");
        VqVaeTrainer.writeIcetk(VqVaeModel.initialise(small, 7), file);
        try (CheckedBackend backend = CheckedBackend.wrap(new ReferenceBackend(), true);
                ImageTokenizer tok = ImageTokenizer.load(file, backend)) {
            int[] grid = new int[1000 * 1000]; // decodes to 8000 x 8000 pixels at rate 8
            assertThatThrownBy(() -> tok.decodePixels(grid, 1, 8)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("1000 x 1000").hasMessageContaining("64000000 pixels")
                    .hasMessageContaining("-Dcogvideo.limits.codecPixels");
            BufferedImage big = new BufferedImage(3000, 3000, BufferedImage.TYPE_INT_RGB);
            assertThatThrownBy(() -> tok.encode(big, 8)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("9000000 pixels");
            assertThatThrownBy(() -> tok.encode(big, 1 << 20, 8)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("-Dcogvideo.limits.codecPixels");
        }
    }
}
