package io.cogvideo.training.vq;

import java.awt.image.BufferedImage;
import java.util.SplittableRandom;

/**
 * A stand-in for the demo world's frames (docs/demo-model.md): white background, one filled anti-aliased shape
 * (circle, square, upright triangle) about a quarter of the canvas across, in one of the world's four colours, at a
 * sub-pixel position drawn from the seed. Index {@code i} is shape {@code i % 3}, colour {@code i / 3}.
 */
public final class ShapeImages implements VqTrainingImages {
    static final int[][] COLOURS = {{220, 40, 40}, {40, 170, 60}, {40, 90, 220}, {235, 190, 30}};
    private static final int SUPER = 4;
    private final int side;

    /** Square images of {@code side} pixels. */
    public ShapeImages(int side) {
        this.side = side;
    }

    @Override
    public int size() {
        return 12;
    }

    @Override
    public int height() {
        return side;
    }

    @Override
    public int width() {
        return side;
    }

    @Override
    public float[] image(int index, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int shape = index % 3;
        int[] colour = COLOURS[(index / 3) % 4];
        double size = side / 4.0 * (0.9 + 0.2 * rnd.nextDouble());
        double half = size / 2;
        double cx = half + 1 + rnd.nextDouble() * (side - size - 2);
        double cy = half + 1 + rnd.nextDouble() * (side - size - 2);
        float[] out = new float[3 * side * side];
        int plane = side * side;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                int inside = 0;
                for (int sy = 0; sy < SUPER; sy++) {
                    for (int sx = 0; sx < SUPER; sx++) {
                        double px = x + (sx + 0.5) / SUPER - cx;
                        double py = y + (sy + 0.5) / SUPER - cy;
                        if (inside(shape, px, py, half)) {
                            inside++;
                        }
                    }
                }
                float a = inside / (float) (SUPER * SUPER);
                for (int c = 0; c < 3; c++) {
                    out[c * plane + y * side + x] = (1 - a) + a * colour[c] / 255f;
                }
            }
        }
        return out;
    }

    private static boolean inside(int shape, double px, double py, double half) {
        switch (shape) {
            case 0:
                return px * px + py * py <= half * half;
            case 1:
                return Math.abs(px) <= half && Math.abs(py) <= half;
            default:
                // upright isosceles triangle: apex at (0, -half), base from (-half, half) to (half, half)
                if (py > half || py < -half) {
                    return false;
                }
                double t = (py + half) / (2 * half); // 0 at the apex, 1 at the base
                return Math.abs(px) <= t * half;
        }
    }

    /** [N, 3, H, W] planar floats in [0, 1] as one image with the N pictures side by side. */
    public static BufferedImage strip(float[] rgb, int n, int h, int w) {
        BufferedImage img = new BufferedImage(n * w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int i = 0; i < n; i++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int p = 0;
                    for (int c = 0; c < 3; c++) {
                        float v = Math.min(1f, Math.max(0f, rgb[(i * 3 + c) * plane + y * w + x]));
                        p = (p << 8) | Math.round(v * 255);
                    }
                    img.setRGB(i * w + x, y, p);
                }
            }
        }
        return img;
    }
}
