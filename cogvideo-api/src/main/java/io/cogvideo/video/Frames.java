package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Validation and pixel helpers shared by the writers of this package. Every check throws a
 * {@link CogVideoException} whose message names the offending value and the allowed range.
 */
final class Frames {

    /** Lowest frame rate any writer accepts, in frames per second. */
    static final double MIN_FPS = 0.01;
    /** Highest frame rate any writer accepts, in frames per second. */
    static final double MAX_FPS = 240.0;

    private Frames() {
    }

    /**
     * Checks that {@code frames} is a non-empty list of non-null images that all have the size of the first one.
     */
    static void validateFrames(List<BufferedImage> frames) {
        if (frames == null) {
            throw new CogVideoException("frames must not be null; expected a list of at least 1 BufferedImage");
        }
        if (frames.isEmpty()) {
            throw new CogVideoException("frames is empty (size 0); expected at least 1 frame");
        }
        BufferedImage first = frames.get(0);
        if (first == null) {
            throw new CogVideoException("frame 0 of " + frames.size()
                    + " is null; every frame must be a BufferedImage");
        }
        int w = first.getWidth();
        int h = first.getHeight();
        for (int i = 1; i < frames.size(); i++) {
            BufferedImage f = frames.get(i);
            if (f == null) {
                throw new CogVideoException("frame " + i + " of " + frames.size()
                        + " is null; every frame must be a BufferedImage");
            }
            if (f.getWidth() != w || f.getHeight() != h) {
                throw new CogVideoException("frame " + i + " is " + f.getWidth() + "x" + f.getHeight()
                        + " but frame 0 is " + w + "x" + h + "; all frames must have the same size");
            }
        }
    }

    /** Checks {@code MIN_FPS <= fps <= maxFps} and that fps is finite. */
    static void validateFps(double fps, double maxFps, String formatName) {
        if (!Double.isFinite(fps) || fps < MIN_FPS || fps > maxFps) {
            throw new CogVideoException("fps " + fps + " is out of range for " + formatName + "; allowed: "
                    + MIN_FPS + " <= fps <= " + maxFps + " (finite)");
        }
    }

    /**
     * Checks that a single output file can be created at {@code file}: its parent folder exists, is a directory and
     * accepts new files, and {@code file} itself is missing or a regular file (not a directory, device or FIFO).
     */
    static void validateOutputFile(Path file) {
        if (file == null) {
            throw new CogVideoException("output path must not be null");
        }
        if (Files.isDirectory(file)) {
            throw new CogVideoException("output path " + file + " is a directory; expected a file path");
        }
        validateParent(file);
        if (Files.exists(file) && !Files.isWritable(file)) {
            throw new CogVideoException("output file " + file + " exists and is not writable");
        }
        OutputFiles.checkTarget(file); // no device or FIFO, and the folder really accepts new files
    }

    /**
     * Checks that the parent folder of {@code path} (the working directory for a bare name) exists, is a directory and
     * is writable.
     */
    static void validateParent(Path path) {
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null) {
            throw new CogVideoException("output path " + path + " has no parent folder");
        }
        if (!Files.exists(parent)) {
            throw new CogVideoException("output folder " + parent + " (parent of " + path
                    + ") does not exist; create it first");
        }
        if (!Files.isDirectory(parent)) {
            throw new CogVideoException("output folder " + parent + " (parent of " + path + ") is not a directory");
        }
        if (!Files.isWritable(parent)) {
            throw new CogVideoException("output folder " + parent + " (parent of " + path + ") is not writable");
        }
    }

    /** The lower-case extension of the file name of {@code path} without the dot, or "" if it has none. */
    static String extension(Path path) {
        Path name = path.getFileName();
        if (name == null) {
            return "";
        }
        String s = name.toString();
        int dot = s.lastIndexOf('.');
        return dot < 0 ? "" : s.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /**
     * Returns {@code image} unchanged if it is already {@code TYPE_INT_RGB}, otherwise a {@code TYPE_INT_RGB} copy in
     * which every pixel keeps its colour and drops its alpha (pixels are treated as opaque).
     */
    static BufferedImage toOpaqueRgb(BufferedImage image) {
        if (image.getType() == BufferedImage.TYPE_INT_RGB) {
            return image;
        }
        int w = image.getWidth();
        int h = image.getHeight();
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            rgb.setRGB(0, y, w, 1, row, 0, w);
        }
        return rgb;
    }
}
