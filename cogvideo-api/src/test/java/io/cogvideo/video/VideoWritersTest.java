package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class VideoWritersTest {

    @TempDir
    Path tmp;

    private final List<BufferedImage> frames = TestFrames.movingSquare(3, 32, 24);

    @Test
    void formatFollowsTheExtension() throws Exception {
        VideoWriters.write(frames, 8.0, tmp.resolve("a.gif"));
        VideoWriters.write(frames, 8.0, tmp.resolve("a.mp4"));
        VideoWriters.write(frames, 8.0, tmp.resolve("frames"));

        assertThat(head(tmp.resolve("a.gif"), 6)).isEqualTo("GIF89a");
        assertThat(head(tmp.resolve("a.mp4"), 8).substring(4)).isEqualTo("ftyp");
        assertThat(tmp.resolve("frames").resolve("0002.png")).exists();
        assertThat(tmp.resolve("frames").resolve(PngSequenceWriter.CONTACT_SHEET)).exists();
    }

    @Test
    void explicitFormatWinsOverTheExtension() throws Exception {
        Path out = tmp.resolve("clip.bin");
        VideoWriters.write(frames, 8.0, out, VideoFormat.GIF);
        assertThat(head(out, 6)).isEqualTo("GIF89a");
    }

    @ParameterizedTest
    @EnumSource(VideoFormat.class)
    void replacesExistingOutput(VideoFormat format) throws Exception {
        Path out = tmp.resolve(format == VideoFormat.PNG ? "clip" : "clip." + format.name().toLowerCase());
        VideoWriters.write(TestFrames.movingSquare(20, 64, 64), 8.0, out);
        if (format == VideoFormat.PNG) {
            // a frame directory that holds files is replaced only on request, and only the files of this write
            assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, out)).isInstanceOf(CogVideoException.class)
                    .hasMessageContaining("already holds 21 file(s)");
            PngSequenceWriter.write(frames, out, true);
            assertThat(out.resolve("0002.png")).exists();
            assertThat(out.resolve("0003.png")).exists();
        } else {
            VideoWriters.write(frames, 8.0, out);
            assertThat(Files.size(out)).isPositive();
        }
    }

    @Test
    void emptyAndNullFrameListsAreRejected() {
        assertThatThrownBy(() -> VideoWriters.write(List.of(), 8.0, tmp.resolve("a.gif")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("empty")
                .hasMessageContaining("at least 1 frame");
        assertThatThrownBy(() -> VideoWriters.write(null, 8.0, tmp.resolve("a.gif")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("frames must not be null");
    }

    @Test
    void nullFrameIsNamedByIndex() {
        List<BufferedImage> withNull = new ArrayList<>(frames);
        withNull.set(1, null);
        assertThatThrownBy(() -> VideoWriters.write(withNull, 8.0, tmp.resolve("a.mp4")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("frame 1 of 3 is null");
    }

    @Test
    void framesOfDifferentSizesAreRejected() {
        List<BufferedImage> mixed = new ArrayList<>(frames);
        mixed.add(new BufferedImage(33, 24, BufferedImage.TYPE_INT_RGB));
        assertThatThrownBy(() -> VideoWriters.write(mixed, 8.0, tmp.resolve("a.gif")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("frame 3 is 33x24")
                .hasMessageContaining("frame 0 is 32x24");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, -8.0, 0.001, 241.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
    void fpsOutOfRangeIsRejectedBeforeAnythingIsWritten(double fps) {
        for (String name : new String[] {"a.gif", "a.mp4", "frames"}) {
            Path out = tmp.resolve(name);
            assertThatThrownBy(() -> VideoWriters.write(frames, fps, out))
                    .isInstanceOf(CogVideoException.class)
                    .hasMessageContaining("fps " + fps)
                    .hasMessageContaining("0.01 <= fps <= ");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void gifHasALowerFpsCeiling() {
        assertThatThrownBy(() -> VideoWriters.write(frames, 60.0, tmp.resolve("a.gif")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("fps 60.0 is out of range for GIF")
                .hasMessageContaining("fps <= 50.0");
        VideoWriters.write(frames, 60.0, tmp.resolve("a.mp4"));
        assertThat(tmp.resolve("a.mp4")).exists();
    }

    @Test
    void missingParentFolderIsRejected() {
        Path missing = tmp.resolve("no-such-dir");
        for (String name : new String[] {"a.gif", "a.mp4", "frames"}) {
            assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, missing.resolve(name)))
                    .isInstanceOf(CogVideoException.class)
                    .hasMessageContaining(missing.toString())
                    .hasMessageContaining("does not exist");
        }
        assertThat(missing).doesNotExist();
    }

    @Test
    void parentThatIsAFileIsRejected() throws Exception {
        Path file = Files.writeString(tmp.resolve("plain.txt"), "x");
        assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, file.resolve("a.mp4")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("not a directory");
    }

    @Test
    void readOnlyParentFolderIsRejected() throws Exception {
        Path readOnly = Files.createDirectory(tmp.resolve("read-only"));
        try {
            Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("no POSIX permissions on this file system");
        }
        try {
            Assumptions.assumeFalse(Files.isWritable(readOnly),
                    "this user can write to a r-x folder (running as root?), so the check cannot be provoked");
            for (String name : new String[] {"a.gif", "a.mp4", "frames"}) {
                assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, readOnly.resolve(name)))
                        .isInstanceOf(CogVideoException.class)
                        .hasMessageContaining(readOnly.toString())
                        .hasMessageContaining("not writable");
            }
        } finally {
            Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void unsupportedExtensionIsRejected() {
        assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, tmp.resolve("a.avi")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("'.avi'")
                .hasMessageContaining(".gif (GIF), .mp4 (MP4), .png or a directory (PNG frames)");
    }

    @Test
    void fileOutputOntoADirectoryAndPngOntoAFileAreRejected() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("taken.mp4"));
        assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, dir, VideoFormat.MP4))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("is a directory");
        Path file = Files.writeString(tmp.resolve("taken"), "x");
        assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, file, VideoFormat.PNG))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("not a directory");
    }

    @Test
    void nullArgumentsAreRejected() {
        assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, null))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("null");
        assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, tmp.resolve("a.gif"), null))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("format must not be null");
    }

    @Test
    void aFolderWhereAFrameShouldGoIsRefusedBeforeWriting() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("clip"));
        Files.createDirectories(dir.resolve("0000.png").resolve("inner"));
        assertThatThrownBy(() -> PngSequenceWriter.write(frames, dir, true))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("0000.png, which is not a regular file");
        assertThat(dir.resolve("0001.png")).doesNotExist();
    }

    /** A frame that cannot be read: writing fails half-way, after the output file was opened. */
    private static BufferedImage failingFrame(int w, int h) {
        return new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB) {
            @Override
            public int[] getRGB(int startX, int startY, int width, int height, int[] rgbArray, int offset,
                    int scansize) {
                throw new IllegalStateException("pixels unavailable");
            }

            @Override
            public int getRGB(int x, int y) {
                throw new IllegalStateException("pixels unavailable");
            }
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"old.gif", "old.mp4"})
    void aFailedWriteLeavesTheExistingFileAsItWasAndNoTemporaryFile(String name) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("keep"));
        Path out = Files.writeString(dir.resolve(name), "the user's earlier video");
        List<BufferedImage> bad = List.of(TestFrames.movingSquare(1, 16, 16).get(0), failingFrame(16, 16));
        assertThatThrownBy(() -> VideoWriters.write(bad, 8.0, out))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining(out.toString())
                .hasMessageContaining("pixels unavailable");
        assertThat(Files.readString(out)).isEqualTo("the user's earlier video");
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly(name);
        }
    }

    @Test
    void aDeviceIsRefusedAsAnOutputFile() {
        Path device = Path.of("/dev/null");
        Assumptions.assumeTrue(Files.exists(device) && !Files.isRegularFile(device), "no /dev/null here");
        for (VideoFormat format : new VideoFormat[] {VideoFormat.GIF, VideoFormat.MP4}) {
            assertThatThrownBy(() -> VideoWriters.write(frames, 8.0, device, format))
                    .isInstanceOf(CogVideoException.class)
                    .hasMessageContaining("/dev/null")
                    .hasMessageContaining("not a regular file");
        }
    }

    @Test
    void aLinkToAFileIsKeptAndItsTargetReplaced() throws Exception {
        Path real = Files.writeString(tmp.resolve("real.gif"), "old");
        Path link;
        try {
            link = Files.createSymbolicLink(tmp.resolve("link.gif"), real);
        } catch (UnsupportedOperationException | IOException e) {
            Assumptions.abort("no symbolic links here");
            return;
        }
        VideoWriters.write(frames, 8.0, link);
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(head(real, 6)).isEqualTo("GIF89a");
    }

    private static String head(Path file, int n) throws IOException {
        byte[] bytes = Arrays.copyOf(Files.readAllBytes(file), n);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
