package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command, end to end on the embedded demo model (smaller frame rate to keep it short). */
class GenerateDemoTest {
    @TempDir
    Path tmp;

    @Test
    void generatesGifMp4AndPngFramesOfTheRequestedCount() throws Exception {
        Path gif = tmp.resolve("cat.gif");
        Path mp4 = tmp.resolve("cat.mp4");
        Path png = tmp.resolve("frames");
        CliErrorsTest.Result r = CliErrorsTest.run("generate", "红色圆形向右移动", "--frame-rate", "2", "--seed", "42",
                "-o", gif.toString(), "--also", mp4.toString(), "--also", png.toString());
        assertThat(r.code()).as(r.err()).isZero();
        int frames = 9;
        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
            reader.setInput(in);
            assertThat(reader.getNumImages(true)).isEqualTo(frames);
            assertThat(reader.read(0).getWidth()).isEqualTo(96);
        }
        try (var files = Files.list(png)) {
            List<Path> pngs = files.filter(p -> p.getFileName().toString().matches("\\d{4}\\.png")).sorted().toList();
            assertThat(pngs).hasSize(frames);
            assertThat(ImageIO.read(pngs.get(0).toFile()).getHeight()).isEqualTo(96);
        }
        assertThat(Files.size(mp4)).isPositive();
        Assumptions.assumeTrue(onPath("ffprobe"), "ffprobe not installed (Debian package ffmpeg): MP4 stream check skipped");
        Process p = new ProcessBuilder("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                "-show_entries", "stream=codec_name,width,height,r_frame_rate,nb_read_frames", "-of", "default=nw=1",
                mp4.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out).contains("codec_name=h264", "width=96", "height=96", "r_frame_rate=2/1",
                "nb_read_frames=" + frames);
    }

    private static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }
}
