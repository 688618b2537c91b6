package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VideoFormatTest {

    @TempDir
    Path tmp;

    @Test
    void extensionsMapToFormatsCaseInsensitively() {
        assertThat(VideoFormat.fromPath(Path.of("out/cat.gif"))).isEqualTo(VideoFormat.GIF);
        assertThat(VideoFormat.fromPath(Path.of("out/cat.GIF"))).isEqualTo(VideoFormat.GIF);
        assertThat(VideoFormat.fromPath(Path.of("cat.mp4"))).isEqualTo(VideoFormat.MP4);
        assertThat(VideoFormat.fromPath(Path.of("cat.Mp4"))).isEqualTo(VideoFormat.MP4);
        assertThat(VideoFormat.fromPath(Path.of("frames.png"))).isEqualTo(VideoFormat.PNG);
        assertThat(VideoFormat.fromPath(Path.of("out/frames"))).isEqualTo(VideoFormat.PNG);
    }

    @Test
    void existingDirectoryIsPngEvenWithADottedName() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("clip.v1"));
        assertThat(VideoFormat.fromPath(dir)).isEqualTo(VideoFormat.PNG);
        assertThat(VideoFormat.fromPath(tmp)).isEqualTo(VideoFormat.PNG);
    }

    @Test
    void unsupportedExtensionNamesItAndTheSupportedOnes() {
        assertThatThrownBy(() -> VideoFormat.fromPath(Path.of("out/cat.avi")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("'.avi'")
                .hasMessageContaining("out/cat.avi")
                .hasMessageContaining(".gif")
                .hasMessageContaining(".mp4")
                .hasMessageContaining(".png");
        assertThatThrownBy(() -> VideoFormat.fromPath(Path.of("cat.webm")))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("'.webm'");
    }

    @Test
    void nullPathIsRejected() {
        assertThatThrownBy(() -> VideoFormat.fromPath(null))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("null");
    }
}
