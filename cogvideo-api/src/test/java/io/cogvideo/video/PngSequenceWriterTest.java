package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PngSequenceWriterTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"160, 160, 33, 6, 6", "480, 480, 9, 3, 3", "201, 97, 5, 3, 2"})
    void framesRoundTripExactlyAndContactSheetHasTheGrid(int width, int height, int count, int cols, int rows)
            throws Exception {
        List<BufferedImage> frames = TestFrames.movingSquare(count, width, height);
        Path dir = tmp.resolve("clip");
        PngSequenceWriter.write(frames, dir);

        for (int i = 0; i < count; i++) {
            Path file = dir.resolve(String.format("%04d.png", i));
            assertThat(file).exists();
            BufferedImage decoded = ImageIO.read(file.toFile());
            assertThat(TestFrames.argb(decoded)).as("frame %d", i).isEqualTo(TestFrames.argb(frames.get(i)));
        }
        assertThat(dir.resolve(String.format("%04d.png", count))).doesNotExist();

        BufferedImage sheet = ImageIO.read(dir.resolve(PngSequenceWriter.CONTACT_SHEET).toFile());
        assertThat(sheet.getWidth()).isEqualTo(cols * width);
        assertThat(sheet.getHeight()).isEqualTo(rows * height);
        // Row-major tiles at full size: tile i is frame i pixel for pixel.
        for (int i = 0; i < count; i++) {
            BufferedImage tile = sheet.getSubimage((i % cols) * width, (i / cols) * height, width, height);
            assertThat(TestFrames.argb(tile)).as("tile %d", i).isEqualTo(TestFrames.argb(frames.get(i)));
        }
        if (count < cols * rows) {
            assertThat(sheet.getRGB(cols * width - 1, rows * height - 1) & 0xffffff).as("empty cell").isZero();
        }
    }

    @Test
    void alphaIsKeptExactly() throws Exception {
        List<BufferedImage> frames = TestFrames.translucent(3, 50, 40);
        Path dir = tmp.resolve("alpha");
        PngSequenceWriter.write(frames, dir);
        for (int i = 0; i < frames.size(); i++) {
            BufferedImage decoded = ImageIO.read(dir.resolve(PngSequenceWriter.frameFileName(i)).toFile());
            assertThat(decoded.getColorModel().hasAlpha()).isTrue();
            assertThat(TestFrames.argb(decoded)).isEqualTo(TestFrames.argb(frames.get(i)));
        }
        BufferedImage sheet = ImageIO.read(dir.resolve(PngSequenceWriter.CONTACT_SHEET).toFile());
        assertThat(sheet.getColorModel().hasAlpha()).isTrue();
        assertThat(sheet.getWidth()).isEqualTo(2 * 50);
        assertThat(sheet.getHeight()).isEqualTo(2 * 40);
    }

    @Test
    void largeContactSheetIsScaledToFit() {
        BufferedImage frame = TestFrames.movingSquare(1, 1200, 1000).get(0);
        // 17 frames -> 5 columns x 4 rows = 6000 x 4000 at full size; the width limits the scale to 4096/6000.
        BufferedImage sheet = PngSequenceWriter.contactSheet(Collections.nCopies(17, frame));
        int tileW = (int) Math.floor(1200 * (4096 / 6000.0));
        int tileH = (int) Math.floor(1000 * (4096 / 6000.0));
        assertThat(sheet.getWidth()).isEqualTo(5 * tileW).isLessThanOrEqualTo(PngSequenceWriter.MAX_CONTACT_SHEET_SIDE);
        assertThat(sheet.getHeight()).isEqualTo(4 * tileH);
    }

    @Test
    void aDirectoryThatHoldsFilesIsRefusedAndNothingInItChanges() throws Exception {
        // the reported data loss: the user's own 0005.png in the folder was deleted by a 5-frame write
        Path dir = Files.createDirectory(tmp.resolve("photos"));
        Path users = Files.writeString(dir.resolve("0005.png"), "the user's photo");
        assertThatThrownBy(() -> PngSequenceWriter.write(TestFrames.movingSquare(5, 16, 16), dir))
                .isInstanceOf(CogVideoException.class).hasMessageContaining(dir.toString())
                .hasMessageContaining("already holds 1 file(s) (0005.png)").hasMessageContaining("--overwrite");
        assertThatThrownBy(() -> PngSequenceWriter.checkDirectory(dir, 5, false))
                .hasMessageContaining("already holds");
        assertThat(Files.readString(users)).isEqualTo("the user's photo");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("0005.png");
        }
    }

    @Test
    void overwriteReplacesOnlyTheFilesThisWriteMakes() throws Exception {
        Path dir = tmp.resolve("clip");
        PngSequenceWriter.write(TestFrames.movingSquare(10, 16, 16), dir);
        Files.writeString(dir.resolve("notes.txt"), "keep me");
        Files.writeString(dir.resolve("00012.png"), "not one of ours");
        List<BufferedImage> four = TestFrames.movingSquare(4, 24, 24);
        PngSequenceWriter.write(four, dir, true);
        try (Stream<Path> files = Files.list(dir)) {
            // frames 4-9 of the earlier clip are kept: this write did not make them
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrder(
                    "00012.png", "0000.png", "0001.png", "0002.png", "0003.png", "0004.png", "0005.png", "0006.png",
                    "0007.png", "0008.png", "0009.png", "contact_sheet.png", "notes.txt");
        }
        assertThat(Files.readString(dir.resolve("notes.txt"))).isEqualTo("keep me");
        assertThat(ImageIO.read(dir.resolve("0003.png").toFile()).getWidth()).isEqualTo(24);
        assertThat(ImageIO.read(dir.resolve("0004.png").toFile()).getWidth()).isEqualTo(16);
    }

    @Test
    void aNewDirectoryAppearsWholeAndNoTemporaryFileIsLeft() throws Exception {
        Path dir = tmp.resolve("fresh");
        PngSequenceWriter.write(TestFrames.movingSquare(3, 8, 8), dir);
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("fresh");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.count()).isEqualTo(4);
        }
    }

    @Test
    void overwriteRefusesANonRegularEntryUnderAFrameName() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("clip"));
        Files.createDirectory(dir.resolve("0001.png"));
        assertThatThrownBy(() -> PngSequenceWriter.write(TestFrames.movingSquare(3, 8, 8), dir, true))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("0001.png")
                .hasMessageContaining("not a regular file");
        assertThat(dir.resolve("0000.png")).doesNotExist();
    }

    @Test
    void pngPathMeansTheDirectoryWithoutTheSuffix() throws Exception {
        assertThat(PngSequenceWriter.directoryFor(Path.of("out/cat.png"))).isEqualTo(Path.of("out/cat"));
        assertThat(PngSequenceWriter.directoryFor(Path.of("out/cat.PNG"))).isEqualTo(Path.of("out/cat"));
        assertThat(PngSequenceWriter.directoryFor(Path.of("out/cat"))).isEqualTo(Path.of("out/cat"));
        Path existing = Files.createDirectory(tmp.resolve("frames.png"));
        assertThat(PngSequenceWriter.directoryFor(existing)).isEqualTo(existing);

        VideoWriters.write(TestFrames.movingSquare(2, 8, 8), 8.0, tmp.resolve("cat.png"));
        assertThat(tmp.resolve("cat").resolve("0001.png")).exists();
        assertThat(tmp.resolve("cat").resolve("contact_sheet.png")).exists();
        assertThat(tmp.resolve("cat.png")).doesNotExist();
    }
}
