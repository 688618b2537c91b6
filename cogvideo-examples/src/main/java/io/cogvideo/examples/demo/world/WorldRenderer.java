package io.cogvideo.examples.demo.world;

import java.awt.image.BufferedImage;
import java.util.Objects;

/**
 * Draws frames of the demo world: one filled shape of an exact palette colour on white, anti-aliased by coverage.
 *
 * <p>Coverage of a pixel (the unit square [j, j + 1] x [i, i + 1] in pixel units): the square's coverage is exact
 * (the product of the x and y overlaps); circle and triangle pixels whose four corners are all inside (the shapes are
 * convex) are fully covered, other pixels in the shape's bounding box are sampled on an 8 x 8 grid, so a sub-pixel
 * move changes edge pixels in steps of at most 1/64. A pixel value is {@code white * (1 - a) + colour * a}; interior
 * pixels are exactly the palette colour and pixels outside the bounding box exactly white.
 *
 * <p>Stateless and deterministic: no random numbers, no clock.
 */
public final class WorldRenderer {
    /** Samples per axis for edge pixels of the circle and triangle. */
    public static final int SUPERSAMPLING = 8;

    /** Creates a renderer (it holds no state). */
    public WorldRenderer() {
    }

    /**
     * Renders the clip at time {@code seconds}.
     *
     * @param canvas the side in pixels, 8..4096
     * @return RGB planar [3, canvas, canvas] in [0, 1]
     */
    public float[] render(WorldClip clip, double seconds, int canvas) {
        Objects.requireNonNull(clip, "clip");
        checkCanvas(canvas);
        double[] c = clip.centreAt(seconds);
        int plane = canvas * canvas;
        float[] out = new float[3 * plane];
        java.util.Arrays.fill(out, 1f);
        double cx = c[0] * canvas;
        double cy = c[1] * canvas;
        double s = clip.size() * canvas;
        double left = cx - s / 2;
        double top = cy - s / 2;
        double right = cx + s / 2;
        double bottom = cy + s / 2;
        int j0 = Math.max(0, (int) Math.floor(left));
        int j1 = Math.min(canvas - 1, (int) Math.ceil(right));
        int i0 = Math.max(0, (int) Math.floor(top));
        int i1 = Math.min(canvas - 1, (int) Math.ceil(bottom));
        float[] rgb = clip.caption().colour().rgb();
        Shape shape = clip.caption().shape();
        for (int i = i0; i <= i1; i++) {
            for (int j = j0; j <= j1; j++) {
                double a = switch (shape) {
                    case SQUARE -> overlap(j, j + 1, left, right) * overlap(i, i + 1, top, bottom);
                    case CIRCLE, TRIANGLE -> sampled(shape, j, i, cx, cy, s);
                };
                if (a <= 0) {
                    continue;
                }
                int p = i * canvas + j;
                if (a >= 1) {
                    out[p] = rgb[0];
                    out[plane + p] = rgb[1];
                    out[2 * plane + p] = rgb[2];
                } else {
                    float af = (float) a;
                    out[p] = 1f - af + af * rgb[0];
                    out[plane + p] = 1f - af + af * rgb[1];
                    out[2 * plane + p] = 1f - af + af * rgb[2];
                }
            }
        }
        return out;
    }

    /** Renders the clip at time {@code seconds} as an 8-bit RGB image (values rounded). */
    public BufferedImage renderImage(WorldClip clip, double seconds, int canvas) {
        return toImage(render(clip, seconds, canvas), canvas, canvas);
    }

    /**
     * The whole clip at {@code frameRate}: frames at t = k / frameRate for k = 0..4 * frameRate (33 frames at 8 fps,
     * 5 at 1 fps).
     *
     * @param frameRate frames per second, 1..240
     * @return frames, each RGB planar [3, canvas, canvas] in [0, 1]
     */
    public float[][] video(WorldClip clip, int frameRate, int canvas) {
        if (frameRate < 1 || frameRate > 240) {
            throw new IllegalArgumentException("frameRate " + frameRate + " out of range [1, 240]");
        }
        int n = (int) Math.round(WorldClip.DURATION_SECONDS * frameRate) + 1;
        float[][] frames = new float[n][];
        for (int k = 0; k < n; k++) {
            frames[k] = render(clip, Math.min(WorldClip.DURATION_SECONDS, (double) k / frameRate), canvas);
        }
        return frames;
    }

    /**
     * Converts an RGB planar [3, height, width] frame in [0, 1] to an 8-bit RGB image (clamped, rounded).
     *
     * @throws IllegalArgumentException when the array length is not 3 * height * width
     */
    public static BufferedImage toImage(float[] frame, int width, int height) {
        int plane = width * height;
        if (frame.length != 3 * plane) {
            throw new IllegalArgumentException("frame has " + frame.length + " values, expected 3 * " + height
                    + " * " + width + " = " + 3 * plane);
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[plane];
        for (int p = 0; p < plane; p++) {
            px[p] = (to8(frame[p]) << 16) | (to8(frame[plane + p]) << 8) | to8(frame[2 * plane + p]);
        }
        img.setRGB(0, 0, width, height, px, 0, width);
        return img;
    }

    private static int to8(float v) {
        return Math.max(0, Math.min(255, Math.round(v * 255f)));
    }

    private static void checkCanvas(int canvas) {
        if (canvas < 8 || canvas > 4096) {
            throw new IllegalArgumentException("canvas " + canvas + " px out of range [8, 4096]");
        }
    }

    private static double overlap(double a0, double a1, double b0, double b1) {
        return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
    }

    private static boolean inside(Shape shape, double x, double y, double cx, double cy, double s) {
        double h = s / 2;
        return switch (shape) {
            case CIRCLE -> {
                double dx = x - cx;
                double dy = y - cy;
                yield dx * dx + dy * dy <= h * h;
            }
            case SQUARE -> Math.abs(x - cx) <= h && Math.abs(y - cy) <= h;
            case TRIANGLE -> {
                // Apex (cx, cy - h), base from (cx - h, cy + h) to (cx + h, cy + h): half-width (y - top) / 2.
                double top = cy - h;
                yield y <= cy + h && y >= top && Math.abs(x - cx) <= (y - top) / 2;
            }
        };
    }

    private static double sampled(Shape shape, int j, int i, double cx, double cy, double s) {
        if (inside(shape, j, i, cx, cy, s) && inside(shape, j + 1, i, cx, cy, s)
                && inside(shape, j, i + 1, cx, cy, s) && inside(shape, j + 1, i + 1, cx, cy, s)) {
            return 1;
        }
        int n = SUPERSAMPLING;
        int hits = 0;
        for (int a = 0; a < n; a++) {
            double y = i + (a + 0.5) / n;
            for (int b = 0; b < n; b++) {
                if (inside(shape, j + (b + 0.5) / n, y, cx, cy, s)) {
                    hits++;
                }
            }
        }
        return hits / (double) (n * n);
    }
}
