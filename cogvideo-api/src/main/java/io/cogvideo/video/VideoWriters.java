package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

/**
 * Entry point for saving generated frames: one call writes a GIF, an MP4 or a PNG frame directory.
 *
 * <pre>{@code
 * VideoWriters.write(frames, 8.0, Path.of("out/cat.mp4"));        // format from the extension
 * VideoWriters.write(frames, 8.0, Path.of("out/cat"), VideoFormat.PNG);
 * }</pre>
 *
 * <p>All arguments are validated before anything is written; failures throw {@link CogVideoException} with a
 * message that names the offending value and the allowed range or the supported choices:
 * <ul>
 *   <li>the frame list must be non-empty, hold no null frame, and all frames must have the size of frame 0;</li>
 *   <li>fps must be finite, at least {@value Frames#MIN_FPS} and at most {@value Frames#MAX_FPS}
 *       ({@value GifWriter#MAX_FPS} for GIF);</li>
 *   <li>the parent folder of the output (of the frame directory for PNG) must exist and be writable;</li>
 *   <li>with {@link #write(List, double, Path)}, the extension must be a supported one (see
 *       {@link VideoFormat#fromPath(Path)}).</li>
 * </ul>
 * I/O failures are rethrown as {@link CogVideoException} naming the output path, with the {@code IOException} as
 * cause. An existing GIF or MP4 file is replaced only once the new one is complete (written to a temporary file and
 * renamed, see {@link OutputFiles}), so a failure never loses it; a PNG frame directory must be new or empty (see
 * {@link PngSequenceWriter#write(List, Path, boolean)} to replace the frames of a directory that holds files).
 */
public final class VideoWriters {

    private VideoWriters() {
    }

    /**
     * Writes {@code frames} to {@code out} in the format given by its extension ({@link VideoFormat#fromPath(Path)}).
     *
     * @param frames non-empty list of non-null frames of the same size
     * @param fps    frames per second
     * @param out    output file ({@code .gif}, {@code .mp4}) or frame directory (a directory, a name without
     *               extension, or {@code .png})
     * @throws CogVideoException on invalid arguments, an unsupported extension, or an I/O failure
     */
    public static void write(List<BufferedImage> frames, double fps, Path out) {
        write(frames, fps, out, VideoFormat.fromPath(out));
    }

    /**
     * Writes {@code frames} to {@code out} in the given format; the format wins over the extension of {@code out}.
     * For {@link VideoFormat#PNG} the frames go to {@link PngSequenceWriter#directoryFor(Path)}.
     *
     * @param frames non-empty list of non-null frames of the same size
     * @param fps    frames per second
     * @param out    output file, or the frame directory for PNG
     * @param format the output format
     * @throws CogVideoException on invalid arguments or an I/O failure
     */
    public static void write(List<BufferedImage> frames, double fps, Path out, VideoFormat format) {
        if (format == null) {
            throw new CogVideoException("format must not be null; supported: " + VideoFormat.SUPPORTED);
        }
        if (out == null) {
            throw new CogVideoException("output path must not be null");
        }
        Frames.validateFrames(frames);
        switch (format) {
            case GIF:
                GifWriter.write(frames, fps, out);
                break;
            case MP4:
                Mp4Writer.write(frames, fps, out);
                break;
            case PNG:
                // PNG frames carry no timing; fps is still validated so that every format rejects the same values.
                Frames.validateFps(fps, Frames.MAX_FPS, "PNG");
                PngSequenceWriter.write(frames, PngSequenceWriter.directoryFor(out));
                break;
            default:
                throw new CogVideoException("unsupported format " + format + "; supported: " + VideoFormat.SUPPORTED);
        }
    }
}
