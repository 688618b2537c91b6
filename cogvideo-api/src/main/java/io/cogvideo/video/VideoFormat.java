package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The output formats {@link VideoWriters} can produce from a list of frames.
 *
 * <p>{@link #fromPath(Path)} picks the format from the output path; the extension is matched case-insensitively:
 * <ul>
 *   <li>{@code .gif} &rarr; {@link #GIF};</li>
 *   <li>{@code .mp4} &rarr; {@link #MP4};</li>
 *   <li>an existing directory, a name without extension (a directory to create) or {@code .png} &rarr; {@link #PNG}.
 *       For a {@code .png} path the frames go into the directory named like the path without its {@code .png}
 *       suffix (see {@link PngSequenceWriter#directoryFor(Path)}).</li>
 * </ul>
 */
public enum VideoFormat {
    /** Animated GIF that loops forever, written by {@link GifWriter}. */
    GIF,
    /** H.264 video in an MP4 container, written by {@link Mp4Writer}. */
    MP4,
    /** A directory of numbered PNG frames plus a contact sheet, written by {@link PngSequenceWriter}. */
    PNG;

    /** Human-readable list of the accepted output paths, used in error messages. */
    static final String SUPPORTED = ".gif (GIF), .mp4 (MP4), .png or a directory (PNG frames)";

    /**
     * Chooses the format from the output path.
     *
     * @param path the output path; an existing directory always means {@link #PNG}
     * @return the format the extension of {@code path} stands for
     * @throws CogVideoException if {@code path} is null or its extension is not one of the supported ones; the
     *                           message names the extension and the supported ones
     */
    public static VideoFormat fromPath(Path path) {
        if (path == null) {
            throw new CogVideoException("output path must not be null; supported: " + SUPPORTED);
        }
        if (Files.isDirectory(path)) {
            return PNG;
        }
        String ext = Frames.extension(path);
        switch (ext) {
            case "gif":
                return GIF;
            case "mp4":
                return MP4;
            case "png":
            case "":
                return PNG;
            default:
                throw new CogVideoException("unsupported output extension '." + ext + "' in " + path
                        + "; supported: " + SUPPORTED);
        }
    }
}
