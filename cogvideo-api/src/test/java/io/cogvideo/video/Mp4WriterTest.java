package io.cogvideo.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jcodec.api.awt.AWTFrameGrab;
import org.jcodec.common.DemuxerTrackMeta;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.io.SeekableByteChannel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * MP4 round trips. Pixel bounds are on the mean absolute error per 8-bit RGB channel against the source frames.
 * Measured on these clips: about 0.85 from the RGB to 4:2:0 conversion alone; 1.0 to 1.3 after encoding at QP 12 and
 * decoding with JCodec; 1.7 when ffmpeg 5.1 decodes the 160x160 clip (its chroma upsampling and rounding differ, and
 * may differ again in other ffmpeg versions, hence the wider ffmpeg bound). Both bounds still fail on the two defects
 * seen while developing: full-range samples shown as limited range (about 9.5) and JCodec's error creep along
 * gradients at QP 16 to 20 (2.3 to 7 on the 480x480 clip).
 */
class Mp4WriterTest {

    /** Bound for frames decoded by JCodec. */
    static final double MAX_MEAN_ABS_ERROR = 2.0;
    /** Bound for frames decoded by ffmpeg. */
    static final double MAX_MEAN_ABS_ERROR_FFMPEG = 2.5;

    @TempDir
    Path tmp;

    @Test
    void frameRateFractions() {
        assertThat(Mp4Writer.frameRateFraction(8.0)).containsExactly(8, 1);
        assertThat(Mp4Writer.frameRateFraction(24.0)).containsExactly(24, 1);
        assertThat(Mp4Writer.frameRateFraction(12.5)).containsExactly(25, 2);
        assertThat(Mp4Writer.frameRateFraction(0.5)).containsExactly(1, 2);
        assertThat(Mp4Writer.frameRateFraction(0.01)).containsExactly(1, 100);
        assertThat(Mp4Writer.frameRateFraction(30000 / 1001.0)).containsExactly(30000, 1001);
        assertThat(Mp4Writer.frameRateFraction(29.97)).containsExactly(2997, 100);
        assertThat(Mp4Writer.frameRateFraction(Math.PI)).containsExactly(355, 113);
        assertThat(Mp4Writer.frameRateFraction(240.0)).containsExactly(240, 1);
    }

    @Test
    void oddSizesArePaddedToEven() {
        assertThat(Mp4Writer.encodedSize(160, 160)).containsExactly(160, 160);
        assertThat(Mp4Writer.encodedSize(161, 121)).containsExactly(162, 122);
        assertThat(Mp4Writer.encodedSize(1, 2)).containsExactly(2, 2);
    }

    @ParameterizedTest
    @CsvSource({"160, 160, 33, 8.0", "480, 480, 17, 8.0", "161, 121, 17, 12.5"})
    void roundTripWithJCodec(int width, int height, int count, double fps) throws Exception {
        List<BufferedImage> frames = TestFrames.movingSquare(count, width, height);
        Path mp4 = tmp.resolve("clip.mp4");
        Mp4Writer.write(frames, fps, mp4);

        int[] size = Mp4Writer.encodedSize(width, height);
        try (SeekableByteChannel in = NIOUtils.readableChannel(mp4.toFile())) {
            AWTFrameGrab grab = AWTFrameGrab.createAWTFrameGrab(in);
            DemuxerTrackMeta meta = grab.getVideoTrack().getMeta();
            assertThat(meta.getTotalFrames()).isEqualTo(count);
            assertThat(meta.getTotalDuration()).isCloseTo(count / fps, within(1e-6));
            List<BufferedImage> decoded = new ArrayList<>();
            BufferedImage frame;
            while ((frame = grab.getFrame()) != null) {
                decoded.add(frame);
            }
            assertThat(decoded).hasSize(count);
            double worst = 0;
            double total = 0;
            for (int i = 0; i < count; i++) {
                assertThat(decoded.get(i).getWidth()).isEqualTo(size[0]);
                assertThat(decoded.get(i).getHeight()).isEqualTo(size[1]);
                double mae = TestFrames.meanAbsError(frames.get(i), decoded.get(i), width, height);
                worst = Math.max(worst, mae);
                total += mae;
            }
            assertThat(total / count).as("mean abs error over the clip").isLessThan(MAX_MEAN_ABS_ERROR);
            assertThat(worst).as("worst frame mean abs error").isLessThan(MAX_MEAN_ABS_ERROR + 0.5);
        }
    }

    @ParameterizedTest
    @CsvSource({"480, 480", "16, 16", "15, 9", "2, 2", "1, 1"})
    void noiseAndTinyFramesEncode(int width, int height) throws Exception {
        // Random noise at QP 12 needs more than the 1.5 bytes per pixel budget, and a frame smaller than one
        // macroblock used to overflow JCodec's slice buffer (sized by the picture) in the middle of a macroblock.
        List<BufferedImage> frames = TestFrames.noise(3, width, height, 42);
        Path mp4 = tmp.resolve("noise.mp4");
        Mp4Writer.write(frames, 8.0, mp4);
        int[] size = Mp4Writer.encodedSize(width, height);
        try (SeekableByteChannel in = NIOUtils.readableChannel(mp4.toFile())) {
            AWTFrameGrab grab = AWTFrameGrab.createAWTFrameGrab(in);
            int n = 0;
            BufferedImage frame;
            while ((frame = grab.getFrame()) != null) {
                assertThat(frame.getWidth()).isEqualTo(size[0]);
                assertThat(frame.getHeight()).isEqualTo(size[1]);
                n++;
            }
            assertThat(n).isEqualTo(3);
        }
        int codedPixels = ((size[0] + 15) & ~15) * ((size[1] + 15) & ~15);
        assertThat(Files.size(mp4)).isLessThan((long) (3 * 1.5 * codedPixels) + 10_000);
    }

    @Test
    void ffprobeSeesH264WithTheRightFramesSizeAndRate() throws Exception {
        Path ffprobe = TestFrames.onPath("ffprobe").orElse(null);
        Assumptions.assumeTrue(ffprobe != null,
                "ffprobe not found on PATH; install ffmpeg (e.g. apt-get install ffmpeg) to run this check");

        Path mp4 = tmp.resolve("clip.mp4");
        Mp4Writer.write(TestFrames.movingSquare(33, 160, 160), 8.0, mp4);
        Map<String, String> s = probe(ffprobe, mp4);
        assertThat(s).containsEntry("codec_name", "h264")
                .containsEntry("width", "160")
                .containsEntry("height", "160")
                .containsEntry("r_frame_rate", "8/1")
                .containsEntry("avg_frame_rate", "8/1")
                .containsEntry("nb_read_frames", "33")
                .containsEntry("pix_fmt", "yuv420p");

        Path odd = tmp.resolve("odd.mp4");
        Mp4Writer.write(TestFrames.movingSquare(17, 161, 121), 12.5, odd);
        Map<String, String> o = probe(ffprobe, odd);
        assertThat(o).containsEntry("codec_name", "h264")
                .containsEntry("width", "162")
                .containsEntry("height", "122")
                .containsEntry("r_frame_rate", "25/2")
                .containsEntry("nb_read_frames", "17");
    }

    @Test
    void ffmpegDecodesColoursClose() throws Exception {
        Path ffmpeg = TestFrames.onPath("ffmpeg").orElse(null);
        Assumptions.assumeTrue(ffmpeg != null,
                "ffmpeg not found on PATH; install ffmpeg (e.g. apt-get install ffmpeg) to run this check");

        int w = 160;
        int h = 160;
        List<BufferedImage> frames = TestFrames.movingSquare(9, w, h);
        Path mp4 = tmp.resolve("clip.mp4");
        Mp4Writer.write(frames, 8.0, mp4);
        byte[] rgb = run(List.of(ffmpeg.toString(), "-v", "error", "-i", mp4.toString(),
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-"));
        assertThat(rgb.length).isEqualTo(9 * w * h * 3);
        long sum = 0;
        for (int i = 0; i < 9; i++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int o = ((i * h + y) * w + x) * 3;
                    int p = frames.get(i).getRGB(x, y);
                    sum += Math.abs((rgb[o] & 0xff) - ((p >> 16) & 0xff));
                    sum += Math.abs((rgb[o + 1] & 0xff) - ((p >> 8) & 0xff));
                    sum += Math.abs((rgb[o + 2] & 0xff) - (p & 0xff));
                }
            }
        }
        assertThat(sum / (9.0 * w * h * 3)).isLessThan(MAX_MEAN_ABS_ERROR_FFMPEG);
    }

    private static Map<String, String> probe(Path ffprobe, Path file) throws Exception {
        String out = new String(run(List.of(ffprobe.toString(), "-v", "error", "-select_streams", "v:0",
                "-count_frames", "-show_entries",
                "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_read_frames,pix_fmt",
                "-of", "default=noprint_wrappers=1", file.toString())), StandardCharsets.UTF_8);
        Map<String, String> fields = new HashMap<>();
        for (String line : out.split("\\R")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                fields.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return fields;
    }

    private static byte[] run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = process.getInputStream()) {
            in.transferTo(out);
        }
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command.get(0)).isTrue();
        assertThat(process.exitValue()).as("%s exit status", command).isZero();
        return out.toByteArray();
    }
}
