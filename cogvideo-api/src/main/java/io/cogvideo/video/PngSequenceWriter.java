package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * Writes frames as numbered, lossless PNG files plus a contact sheet into a directory.
 *
 * <p>Layout of the directory: {@code 0000.png, 0001.png, ...} (frame index, zero-padded to at least four digits) and
 * {@value #CONTACT_SHEET}, all frames in row-major order on a grid of {@code ceil(sqrt(n))} columns and
 * {@code ceil(n / columns)} rows with no spacing; cells after the last frame are black. Each tile has the frame size
 * unless the sheet would be wider or taller than {@value #MAX_CONTACT_SHEET_SIDE} pixels, in which case all tiles are
 * scaled down by the same factor (bilinear) to fit.
 *
 * <p>Frames are written exactly as given (same pixels, alpha kept when the image has it), so reading a frame back with
 * {@link ImageIO} gives the same ARGB values. The directory is created if missing (its parent must exist). Numbered
 * frame files left by an earlier, longer write ({@code NNNN.png} with an index &ge; the new frame count) are deleted so
 * that the directory always holds exactly one clip; other files are not touched.
 */
public final class PngSequenceWriter {

    /** File name of the contact sheet inside the output directory. */
    public static final String CONTACT_SHEET = "contact_sheet.png";
    /** Largest width or height of the contact sheet in pixels; larger grids are scaled down to fit. */
    public static final int MAX_CONTACT_SHEET_SIDE = 4096;

    private static final Pattern FRAME_NAME = Pattern.compile("\\d{4,9}\\.png");

    private PngSequenceWriter() {
    }

    /**
     * The directory the frames for output path {@code out} go to: {@code out} itself, or, when its file name ends in
     * {@code .png} (any case), {@code out} without that suffix ({@code clips/cat.png} &rarr; {@code clips/cat}).
     *
     * @param out output path as passed to {@link VideoWriters}
     * @return the frame directory
     */
    public static Path directoryFor(Path out) {
        if (out == null) {
            throw new CogVideoException("output path must not be null");
        }
        Path name = out.getFileName();
        if (name != null && !Files.isDirectory(out)) {
            String s = name.toString();
            if (s.length() > 4 && s.toLowerCase(Locale.ROOT).endsWith(".png")) {
                return out.resolveSibling(s.substring(0, s.length() - 4));
            }
        }
        return out;
    }

    /**
     * The file name of frame {@code index}: at least four digits, zero-padded, plus {@code .png}.
     *
     * @param index frame index, from 0
     * @return e.g. {@code 0007.png}
     */
    public static String frameFileName(int index) {
        return String.format(Locale.ROOT, "%04d.png", index);
    }

    /**
     * Writes {@code frames} into {@code directory} as {@code 0000.png, 0001.png, ...} plus {@value #CONTACT_SHEET}.
     *
     * @param frames    non-empty list of non-null frames of the same size
     * @param directory the directory to write into; created if missing, its parent must exist and be writable
     * @throws CogVideoException on invalid arguments or when writing fails (the message names the path)
     */
    public static void write(List<BufferedImage> frames, Path directory) {
        Frames.validateFrames(frames);
        validateDirectory(directory);
        try {
            Files.createDirectories(directory);
            for (int i = 0; i < frames.size(); i++) {
                writePng(frames.get(i), directory.resolve(frameFileName(i)));
            }
            deleteStaleFrames(directory, frames.size());
            writePng(contactSheet(frames), directory.resolve(CONTACT_SHEET));
        } catch (IOException e) {
            throw new CogVideoException("could not write PNG frames to " + directory + ": " + e, e);
        }
    }

    /**
     * Builds the contact sheet described in the class documentation.
     *
     * @param frames non-empty list of non-null frames of the same size
     * @return the sheet, {@code TYPE_INT_ARGB} if any frame has alpha, otherwise {@code TYPE_INT_RGB}
     */
    public static BufferedImage contactSheet(List<BufferedImage> frames) {
        Frames.validateFrames(frames);
        int n = frames.size();
        int cols = (int) Math.ceil(Math.sqrt(n));
        int rows = (n + cols - 1) / cols;
        int w = frames.get(0).getWidth();
        int h = frames.get(0).getHeight();
        double scale = Math.min(1.0, Math.min(
                MAX_CONTACT_SHEET_SIDE / ((double) cols * w), MAX_CONTACT_SHEET_SIDE / ((double) rows * h)));
        int tileW = Math.max(1, (int) Math.floor(w * scale));
        int tileH = Math.max(1, (int) Math.floor(h * scale));
        boolean alpha = frames.stream().anyMatch(f -> f.getColorModel().hasAlpha());
        BufferedImage sheet = new BufferedImage(cols * tileW, rows * tileH,
                alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            if (scale < 1.0) {
                g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            }
            for (int i = 0; i < n; i++) {
                int x = (i % cols) * tileW;
                int y = (i / cols) * tileH;
                if (scale < 1.0) {
                    g.drawImage(frames.get(i), x, y, tileW, tileH, null);
                } else {
                    g.drawImage(frames.get(i), x, y, null);
                }
            }
        } finally {
            g.dispose();
        }
        return sheet;
    }

    private static void validateDirectory(Path directory) {
        if (directory == null) {
            throw new CogVideoException("output directory must not be null");
        }
        if (Files.exists(directory)) {
            if (!Files.isDirectory(directory)) {
                throw new CogVideoException("output path " + directory
                        + " exists and is not a directory; PNG frames need a directory");
            }
            if (!Files.isWritable(directory)) {
                throw new CogVideoException("output directory " + directory + " is not writable");
            }
        } else {
            Frames.validateParent(directory);
        }
    }

    private static void writePng(BufferedImage image, Path file) throws IOException {
        Files.deleteIfExists(file);
        if (!ImageIO.write(image, "png", file.toFile())) {
            // No PNG writer for this exotic image layout: fall back to a plain ARGB copy (same colours).
            BufferedImage argb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_ARGB);
            int w = image.getWidth();
            int[] row = new int[w];
            for (int y = 0; y < image.getHeight(); y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                argb.setRGB(0, y, w, 1, row, 0, w);
            }
            if (!ImageIO.write(argb, "png", file.toFile())) {
                throw new IOException("no ImageIO PNG writer available");
            }
        }
    }

    private static void deleteStaleFrames(Path directory, int frameCount) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (FRAME_NAME.matcher(name).matches()) {
                    int index = Integer.parseInt(name.substring(0, name.length() - 4));
                    if (index >= frameCount && name.equals(frameFileName(index))) {
                        Files.deleteIfExists(entry);
                    }
                }
            }
        }
    }
}
