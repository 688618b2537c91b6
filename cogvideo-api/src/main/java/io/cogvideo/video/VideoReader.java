package io.cogvideo.video;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.InputFiles;
import io.cogvideo.checkpoint.ReadLimits;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.w3c.dom.Node;

/**
 * Reads pictures and short videos given as input (image to video, interpolation): one picture (PNG, JPEG, or the
 * first frame of a GIF), or the frames of a GIF or of a folder of PNG files (in file-name order).
 *
 * <p>Everything is checked before any pixel is decoded, each failure a {@link CogVideoException} naming the file and
 * the value: the path exists, is a regular file (a folder, for PNG frames) and is readable; its format is one of
 * PNG, JPEG, GIF; the declared size is within {@value #MAX_SIDE} x {@value #MAX_SIDE} pixels (read from the header,
 * so an oversized picture is refused without decoding it); a video has at most {@value #MAX_FRAMES} frames, all of
 * the same size. A file that turns out corrupt while decoding fails with the file's name too.
 *
 * <p>GIF frames are composed on the GIF's logical screen as a viewer shows them (frame offsets, the disposal methods
 * "restore to background" and "restore to previous"); pixels no frame has painted, and transparent ones, are white.
 * Every picture returned is {@link BufferedImage#TYPE_INT_RGB}, except 8-bit gray pictures, kept as they are.
 */
public final class VideoReader {
    /** The largest width or height accepted, in pixels. */
    public static final int MAX_SIDE = 4096;
    /** The most frames a video input may have. */
    public static final int MAX_FRAMES = 64;

    private static final String GIF_STREAM = "javax_imageio_gif_stream_1.0";
    private static final String GIF_IMAGE = "javax_imageio_gif_image_1.0";
    private static final int WHITE = 0xffffff;

    private VideoReader() {
    }

    /**
     * What a video input holds, read from headers only.
     *
     * @param path   the file or folder
     * @param width  frame width in pixels
     * @param height frame height in pixels
     * @param frames number of frames
     */
    public record VideoInfo(Path path, int width, int height, int frames) {
    }

    /**
     * Reads one picture: a PNG, a JPEG, or the first frame of a GIF.
     *
     * @throws CogVideoException if the file is missing, not a regular readable file, not a supported picture, larger
     *                           than {@value #MAX_SIDE} pixels on a side, or corrupt
     */
    public static BufferedImage readImage(Path file) {
        requireReadableFile(file);
        try (ImageInputStream in = open(file)) {
            ImageReader reader = readerFor(file, in);
            try {
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                checkSize(file, w, h);
                if (isGif(reader)) {
                    return composeGif(file, reader, 1).get(0);
                }
                return toRgb(reader.read(0));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw failure(file, e);
        }
    }

    /**
     * The frame count and size of a video input without decoding its pixels: a GIF file, or a folder of PNG files
     * (all of the same size).
     *
     * @throws CogVideoException if the path is missing or unreadable, not a GIF or a folder of PNGs, has no frame or
     *                           more than {@value #MAX_FRAMES}, frames of different sizes, or a size above
     *                           {@value #MAX_SIDE}
     */
    public static VideoInfo probe(Path path) {
        if (path != null && Files.isDirectory(path)) {
            List<Path> pngs = pngFiles(path);
            int w = -1;
            int h = -1;
            for (Path p : pngs) {
                int[] wh = declaredSize(p);
                if (w < 0) {
                    w = wh[0];
                    h = wh[1];
                } else if (wh[0] != w || wh[1] != h) {
                    throw new CogVideoException("frame " + p + " is " + wh[0] + "x" + wh[1] + " but " + pngs.get(0)
                            + " is " + w + "x" + h + "; all frames must have the same size");
                }
            }
            checkVideoPixels(path, w, h, pngs.size());
            return new VideoInfo(path, w, h, pngs.size());
        }
        requireReadableFile(path);
        try (ImageInputStream in = open(path)) {
            ImageReader reader = readerFor(path, in);
            try {
                if (!isGif(reader)) {
                    throw new CogVideoException("video input " + path + " is a " + reader.getFormatName()
                            + " picture; a video input must be a GIF or a folder of PNG frames");
                }
                requireGifTrailer(path);
                int[] screen = logicalScreen(reader);
                checkSize(path, screen[0], screen[1]);
                int n = reader.getNumImages(true);
                checkFrameCount(path, n);
                checkVideoPixels(path, screen[0], screen[1], n);
                return new VideoInfo(path, screen[0], screen[1], n);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw failure(path, e);
        }
    }

    /**
     * Reads every frame of a video input (see {@link #probe}, which runs first): the composed frames of a GIF, or the
     * PNG files of a folder in file-name order.
     *
     * @throws CogVideoException as {@link #probe}, or if a frame is corrupt
     */
    public static List<BufferedImage> readFrames(Path path) {
        VideoInfo info = probe(path);
        if (Files.isDirectory(path)) {
            List<BufferedImage> frames = new ArrayList<>();
            for (Path p : pngFiles(path)) {
                BufferedImage img = readImage(p);
                if (img.getWidth() != info.width() || img.getHeight() != info.height()) {
                    throw new CogVideoException("frame " + p + " decodes to " + img.getWidth() + "x" + img.getHeight()
                            + " but its header declares " + info.width() + "x" + info.height());
                }
                frames.add(img);
            }
            return frames;
        }
        try (ImageInputStream in = open(path)) {
            ImageReader reader = readerFor(path, in);
            try {
                return composeGif(path, reader, info.frames());
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw failure(path, e);
        }
    }

    // ------------------------------------------------------------------ checks

    private static void requireReadableFile(Path file) {
        if (file == null) {
            throw new CogVideoException("input path must not be null");
        }
        if (!Files.exists(file)) {
            throw new CogVideoException("input file " + file + " does not exist");
        }
        if (Files.isDirectory(file)) {
            throw new CogVideoException("input " + file + " is not a regular file");
        }
        InputFiles.requireRegularFile(file, "input picture"); // a FIFO or device is refused before it is opened
        if (!Files.isReadable(file)) {
            throw new CogVideoException("input file " + file + " is not readable");
        }
    }

    private static void checkSize(Path file, int w, int h) {
        if (w <= 0 || h <= 0) {
            throw new CogVideoException("input " + file + " declares an empty size " + w + "x" + h);
        }
        if (w > MAX_SIDE || h > MAX_SIDE) {
            throw new CogVideoException("input " + file + " is " + w + "x" + h + " pixels; at most " + MAX_SIDE + "x"
                    + MAX_SIDE + " is accepted (refused before decoding)");
        }
        long budget = ReadLimits.defaults().imagePixels();
        if ((long) w * h > budget) {
            throw new CogVideoException("input " + file + " is " + w + "x" + h + " = " + (long) w * h + " pixels,"
                    + " more than the pixel budget of " + budget + " (-D" + ReadLimits.PROPERTY_PREFIX
                    + "imagePixels; refused before decoding)");
        }
    }

    /** All frames together may hold at most four pictures' pixel budget ({@link ReadLimits#imagePixels()}). */
    private static void checkVideoPixels(Path path, int w, int h, int frames) {
        long budget = 4 * ReadLimits.defaults().imagePixels();
        long pixels = (long) w * h * frames;
        if (pixels > budget) {
            throw new CogVideoException("video input " + path + " has " + frames + " frames of " + w + "x" + h + " = "
                    + pixels + " pixels, more than the video budget of " + budget + " (4 x -D"
                    + ReadLimits.PROPERTY_PREFIX + "imagePixels; refused before decoding)");
        }
    }

    private static void checkFrameCount(Path path, int n) {
        if (n < 1 || n > MAX_FRAMES) {
            throw new CogVideoException("video input " + path + " has " + n + " frames; 1 to " + MAX_FRAMES
                    + " are accepted");
        }
    }

    private static List<Path> pngFiles(Path dir) {
        if (!Files.isReadable(dir)) {
            throw new CogVideoException("input folder " + dir + " is not readable");
        }
        List<Path> pngs;
        try (Stream<Path> files = Files.list(dir)) {
            pngs = files.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new CogVideoException("cannot list input folder " + dir + ": " + e.getMessage(), e);
        }
        if (pngs.isEmpty()) {
            throw new CogVideoException("input folder " + dir + " holds no .png file; a folder input is PNG frames "
                    + "in file-name order");
        }
        checkFrameCount(dir, pngs.size());
        return pngs;
    }

    /** A picture's declared width and height, from its header. */
    private static int[] declaredSize(Path file) {
        requireReadableFile(file);
        try (ImageInputStream in = open(file)) {
            ImageReader reader = readerFor(file, in);
            try {
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                checkSize(file, w, h);
                return new int[] {w, h};
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw failure(file, e);
        }
    }

    private static ImageInputStream open(Path file) throws IOException {
        ImageInputStream in = ImageIO.createImageInputStream(file.toFile());
        if (in == null) {
            throw new CogVideoException("cannot open input file " + file);
        }
        return in;
    }

    private static ImageReader readerFor(Path file, ImageInputStream in) throws IOException {
        Iterator<ImageReader> it = ImageIO.getImageReaders(in);
        while (it.hasNext()) {
            ImageReader r = it.next();
            String f = r.getFormatName().toLowerCase(Locale.ROOT);
            if (f.equals("png") || f.equals("gif") || f.equals("jpeg") || f.equals("jpg")) {
                r.setInput(in, false, false);
                return r;
            }
            r.dispose();
        }
        throw new CogVideoException("input file " + file + " is not a PNG, JPEG or GIF picture (unknown or corrupt"
                + " header)");
    }

    private static boolean isGif(ImageReader r) throws IOException {
        return r.getFormatName().equalsIgnoreCase("gif");
    }

    /**
     * A GIF ends with its trailer byte {@code 0x3B}; the JDK's reader silently returns fewer or partly blank frames
     * for a file cut short, so a missing trailer is refused here.
     */
    private static void requireGifTrailer(Path file) throws IOException {
        long size = Files.size(file);
        byte last;
        try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file)) {
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            ch.position(Math.max(0, size - 1));
            if (size == 0 || ch.read(one) != 1) {
                throw new CogVideoException("input file " + file + " is empty");
            }
            last = one.get(0);
        }
        if (last != 0x3B) {
            throw new CogVideoException("input file " + file + " is a truncated or corrupt GIF (it does not end with"
                    + " the GIF trailer byte 0x3B)");
        }
    }

    private static CogVideoException failure(Path file, Exception e) {
        if (e instanceof CogVideoException c) {
            return c;
        }
        return new CogVideoException("cannot read input file " + file + ": it is corrupt or truncated ("
                + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")", e);
    }

    // ------------------------------------------------------------------ GIF composition

    private static int[] logicalScreen(ImageReader reader) throws IOException {
        IIOMetadata sm = reader.getStreamMetadata();
        if (sm != null) {
            Node lsd = child(sm.getAsTree(GIF_STREAM), "LogicalScreenDescriptor");
            if (lsd != null) {
                int w = intAttr(lsd, "logicalScreenWidth", 0);
                int h = intAttr(lsd, "logicalScreenHeight", 0);
                if (w > 0 && h > 0) {
                    return new int[] {w, h};
                }
            }
        }
        return new int[] {reader.getWidth(0), reader.getHeight(0)};
    }

    /** The first {@code count} frames of a GIF, composed on its logical screen, as RGB pictures. */
    private static List<BufferedImage> composeGif(Path file, ImageReader reader, int count) throws IOException {
        requireGifTrailer(file);
        int[] screen = logicalScreen(reader);
        int sw = screen[0];
        int sh = screen[1];
        checkSize(file, sw, sh);
        BufferedImage canvas = new BufferedImage(sw, sh, BufferedImage.TYPE_INT_ARGB);
        List<BufferedImage> frames = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            IIOMetadata md = reader.getImageMetadata(i);
            Node root = md.getAsTree(GIF_IMAGE);
            Node desc = child(root, "ImageDescriptor");
            int x = desc == null ? 0 : intAttr(desc, "imageLeftPosition", 0);
            int y = desc == null ? 0 : intAttr(desc, "imageTopPosition", 0);
            Node gce = child(root, "GraphicControlExtension");
            String disposal = gce == null ? "none" : attr(gce, "disposalMethod", "none");
            BufferedImage part = reader.read(i);
            BufferedImage before = disposal.equals("restoreToPrevious") ? copy(canvas) : null;
            Graphics2D g = canvas.createGraphics();
            try {
                g.drawImage(part, x, y, null);
            } finally {
                g.dispose();
            }
            frames.add(onWhite(canvas));
            if (disposal.equals("restoreToBackgroundColor")) {
                Graphics2D c = canvas.createGraphics();
                try {
                    c.setComposite(java.awt.AlphaComposite.Clear);
                    c.fillRect(x, y, part.getWidth(), part.getHeight());
                } finally {
                    c.dispose();
                }
            } else if (before != null) {
                canvas = before;
            }
        }
        return frames;
    }

    private static BufferedImage copy(BufferedImage src) {
        BufferedImage out = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = out.createGraphics();
        try {
            g.drawImage(src, 0, 0, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    /** Any picture as TYPE_INT_RGB, transparent pixels white. */
    private static BufferedImage onWhite(BufferedImage src) {
        int w = src.getWidth();
        int h = src.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] argb = src.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < argb.length; i++) {
            int a = argb[i] >>> 24;
            if (a == 255) {
                argb[i] &= WHITE;
            } else {
                int r = blend((argb[i] >> 16) & 0xff, a);
                int gr = blend((argb[i] >> 8) & 0xff, a);
                int b = blend(argb[i] & 0xff, a);
                argb[i] = (r << 16) | (gr << 8) | b;
            }
        }
        out.setRGB(0, 0, w, h, argb, 0, w);
        return out;
    }

    private static int blend(int c, int alpha) {
        return (c * alpha + 255 * (255 - alpha) + 127) / 255;
    }

    private static BufferedImage toRgb(BufferedImage img) {
        if (img.getType() == BufferedImage.TYPE_INT_RGB || img.getType() == BufferedImage.TYPE_BYTE_GRAY) {
            return img; // the image tokenizer reads 8-bit gray from its raw samples, as PIL's convert('RGB')
        }
        if (!img.getColorModel().hasAlpha()) {
            BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_INT_RGB);
            Graphics2D g = out.createGraphics();
            try {
                g.drawImage(img, 0, 0, null);
            } finally {
                g.dispose();
            }
            return out;
        }
        return onWhite(img);
    }

    private static Node child(Node parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n.getNodeName().equals(name)) {
                return n;
            }
        }
        return null;
    }

    private static String attr(Node n, String name, String dflt) {
        Node a = n.getAttributes() == null ? null : n.getAttributes().getNamedItem(name);
        return a == null ? dflt : a.getNodeValue();
    }

    private static int intAttr(Node n, String name, int dflt) {
        try {
            return Integer.parseInt(attr(n, name, Integer.toString(dflt)));
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
