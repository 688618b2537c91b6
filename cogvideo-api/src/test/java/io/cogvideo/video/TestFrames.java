package io.cogvideo.video;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Deterministic synthetic clips and comparison helpers for the video writer tests. */
final class TestFrames {

    private TestFrames() {
    }

    /**
     * A clip of {@code n} frames: a red/green gradient across x/y, blue changing with time, and a magenta square
     * moving to the right by 4 pixels per frame.
     */
    static List<BufferedImage> movingSquare(int n, int width, int height) {
        List<BufferedImage> frames = new ArrayList<>(n);
        int side = Math.max(2, Math.min(width, height) / 5);
        for (int t = 0; t < n; t++) {
            BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int r = x * 255 / Math.max(1, width - 1);
                    int g = y * 255 / Math.max(1, height - 1);
                    int b = (t * 7) % 256;
                    image.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
            Graphics2D g = image.createGraphics();
            g.setColor(new Color(240, 30, 200));
            g.fillRect((t * 4) % Math.max(1, width - side), height / 3, side, side);
            g.dispose();
            frames.add(image);
        }
        return frames;
    }

    /** Frames of pseudo-random RGB noise (the worst case for a video encoder). */
    static List<BufferedImage> noise(int n, int width, int height, long seed) {
        java.util.Random random = new java.util.Random(seed);
        List<BufferedImage> frames = new ArrayList<>(n);
        for (int t = 0; t < n; t++) {
            BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    image.setRGB(x, y, random.nextInt(1 << 24));
                }
            }
            frames.add(image);
        }
        return frames;
    }

    /** Frames with per-pixel alpha (TYPE_INT_ARGB), for lossless round trips. */
    static List<BufferedImage> translucent(int n, int width, int height) {
        List<BufferedImage> frames = new ArrayList<>(n);
        for (int t = 0; t < n; t++) {
            BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int a = (x * 255 / Math.max(1, width - 1) + t * 30) & 0xff;
                    int r = (y * 13 + t) & 0xff;
                    int g = (x * 7) & 0xff;
                    int b = (x + y + t * 5) & 0xff;
                    image.setRGB(x, y, (a << 24) | (r << 16) | (g << 8) | b);
                }
            }
            frames.add(image);
        }
        return frames;
    }

    /**
     * Mean absolute difference per 8-bit RGB channel over the top-left {@code width x height} pixels of both images
     * (alpha ignored).
     */
    static double meanAbsError(BufferedImage expected, BufferedImage actual, int width, int height) {
        long sum = 0;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int e = expected.getRGB(x, y);
                int a = actual.getRGB(x, y);
                for (int shift = 0; shift <= 16; shift += 8) {
                    sum += Math.abs(((e >> shift) & 0xff) - ((a >> shift) & 0xff));
                }
            }
        }
        return sum / (3.0 * width * height);
    }

    /** All ARGB pixels of an image, row by row. */
    static int[] argb(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    /** The executable {@code name} on the PATH, if there is one. */
    static Optional<Path> onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
