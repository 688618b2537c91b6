package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Locale;
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
 * {@link ImageIO} gives the same ARGB values.
 *
 * <p><b>No file of the user's is ever lost.</b> A missing directory is written whole under a temporary name beside it
 * and renamed into place (its parent must exist). An existing directory must be empty, unless {@code overwrite} is
 * set: then only the files this write makes ({@code 0000.png} to the last frame's and {@value #CONTACT_SHEET}) are
 * replaced, each through a temporary file, and every other file in it is left untouched (also numbered frames of an
 * earlier, longer clip). {@link #checkDirectory} makes the same checks without writing, so a caller can fail before
 * hours of work.
 */
public final class PngSequenceWriter {

    /** File name of the contact sheet inside the output directory. */
    public static final String CONTACT_SHEET = "contact_sheet.png";
    /** Largest width or height of the contact sheet in pixels; larger grids are scaled down to fit. */
    public static final int MAX_CONTACT_SHEET_SIDE = 4096;

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
     * Writes {@code frames} into a new or empty {@code directory} as {@code 0000.png, 0001.png, ...} plus
     * {@value #CONTACT_SHEET}; same as {@code write(frames, directory, false)}.
     *
     * @param frames    non-empty list of non-null frames of the same size
     * @param directory the directory to write into; created if missing (its parent must exist and be writable),
     *                  refused if it holds any file
     * @throws CogVideoException on invalid arguments, a directory that holds files, or when writing fails (the
     *                           message names the path)
     */
    public static void write(List<BufferedImage> frames, Path directory) {
        write(frames, directory, false);
    }

    /**
     * Writes {@code frames} into {@code directory} as {@code 0000.png, 0001.png, ...} plus {@value #CONTACT_SHEET}.
     *
     * @param frames    non-empty list of non-null frames of the same size
     * @param directory the directory to write into; created if missing, its parent must exist and be writable
     * @param overwrite whether an existing directory that holds files is accepted; only the files this write makes are
     *                  replaced, the others are kept
     * @throws CogVideoException on invalid arguments, a directory that holds files without {@code overwrite}, or when
     *                           writing fails (the message names the path)
     */
    public static void write(List<BufferedImage> frames, Path directory, boolean overwrite) {
        Frames.validateFrames(frames);
        checkDirectory(directory, frames.size(), overwrite);
        BufferedImage sheet = contactSheet(frames);
        if (Files.exists(directory)) {
            for (int i = 0; i < frames.size(); i++) {
                BufferedImage frame = frames.get(i);
                OutputFiles.replace(directory.resolve(frameFileName(i)), "PNG frame", tmp -> writePng(frame, tmp));
            }
            OutputFiles.replace(directory.resolve(CONTACT_SHEET), "contact sheet", tmp -> writePng(sheet, tmp));
            return;
        }
        Path parent = directory.toAbsolutePath().getParent();
        Path tmpDir = null;
        boolean done = false;
        try {
            tmpDir = Files.createTempDirectory(parent, "." + directory.getFileName() + "-");
            for (int i = 0; i < frames.size(); i++) {
                writePng(frames.get(i), tmpDir.resolve(frameFileName(i)));
            }
            writePng(sheet, tmpDir.resolve(CONTACT_SHEET));
            try {
                Files.move(tmpDir, directory, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmpDir, directory);
            }
            done = true;
        } catch (IOException | RuntimeException e) {
            throw new CogVideoException("could not write PNG frames to " + directory + ": " + e, e);
        } finally {
            if (!done && tmpDir != null) {
                deleteTemporaryDirectory(tmpDir, frames.size());
            }
        }
    }

    /**
     * The checks {@link #write(List, Path, boolean)} makes before writing, for a caller that wants to fail before
     * producing the frames: {@code directory} is missing (and its parent accepts new files) or is a directory that
     * accepts new files and is empty, or, with {@code overwrite}, holds no non-regular entry under a name this write
     * makes.
     *
     * @param directory  the frame directory
     * @param frameCount the number of frames that will be written, at least 1
     * @param overwrite  whether a directory that holds files is accepted
     * @throws CogVideoException naming the directory, what it holds and how to proceed
     */
    public static void checkDirectory(Path directory, int frameCount, boolean overwrite) {
        if (directory == null) {
            throw new CogVideoException("output directory must not be null");
        }
        if (frameCount < 1) {
            throw new CogVideoException("frameCount must be >= 1, got " + frameCount);
        }
        if (!Files.exists(directory)) {
            if (Files.isSymbolicLink(directory)) {
                throw new CogVideoException("output path " + directory + " is a broken symbolic link");
            }
            Frames.validateParent(directory);
            OutputFiles.checkFolderAcceptsFiles(directory.toAbsolutePath().getParent(), directory);
            return;
        }
        if (!Files.isDirectory(directory)) {
            throw new CogVideoException("output path " + directory
                    + " exists and is not a directory; PNG frames need a directory");
        }
        OutputFiles.checkFolderAcceptsFiles(directory, directory);
        Set<String> ours = new HashSet<>();
        for (int i = 0; i < frameCount; i++) {
            ours.add(frameFileName(i));
        }
        ours.add(CONTACT_SHEET);
        List<String> held = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                held.add(name);
                if (overwrite && ours.contains(name) && !Files.isRegularFile(entry)) {
                    throw new CogVideoException("output directory " + directory + " holds " + name
                            + ", which is not a regular file; PNG frames would replace it");
                }
            }
        } catch (IOException e) {
            throw new CogVideoException("cannot list output directory " + directory + ": " + e, e);
        }
        if (!held.isEmpty() && !overwrite) {
            Collections.sort(held);
            throw new CogVideoException("output directory " + directory + " already holds " + held.size()
                    + " file(s) (" + String.join(", ", held.subList(0, Math.min(3, held.size())))
                    + (held.size() > 3 ? ", ..." : "") + "); PNG frames are written only into a new or empty "
                    + "directory, unless overwriting is asked for (--overwrite), which replaces only the files "
                    + "this write makes (" + frameFileName(0) + " to " + frameFileName(frameCount - 1) + " and "
                    + CONTACT_SHEET + ") and keeps the others");
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

    /** Deletes the files this writer made in its temporary directory, then the directory (best effort). */
    private static void deleteTemporaryDirectory(Path tmpDir, int frameCount) {
        for (int i = 0; i < frameCount; i++) {
            OutputFiles.deleteQuietly(tmpDir.resolve(frameFileName(i)));
        }
        OutputFiles.deleteQuietly(tmpDir.resolve(CONTACT_SHEET));
        OutputFiles.deleteQuietly(tmpDir);
    }
}
