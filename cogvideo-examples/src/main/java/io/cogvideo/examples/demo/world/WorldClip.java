package io.cogvideo.examples.demo.world;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * One video of the demo world: a shape of the caption's colour moving at constant speed along the caption's
 * direction. All lengths are fractions of the (square) canvas side; coordinates are image coordinates (x right,
 * y down), (0, 0) the top-left corner of the canvas, (1, 1) the bottom-right one.
 *
 * <p>The centre (the centre of the shape's bounding box) travels {@link #TRAVEL} = 0.5 canvas widths over
 * {@link #DURATION_SECONDS} = 4 s; the whole shape stays inside the canvas over the whole path (checked by the
 * constructor).
 *
 * @param caption what the clip shows
 * @param size the diameter (circle) or side (square, triangle base and height) in canvas fractions,
 *     {@link #MIN_SIZE}..{@link #MAX_SIZE} (0.25 ± 10%)
 * @param startX the x of the centre at t = 0
 * @param startY the y of the centre at t = 0
 */
public record WorldClip(Caption caption, double size, double startX, double startY) {
    /** Clip length in seconds. */
    public static final double DURATION_SECONDS = 4.0;
    /** Distance travelled by the centre over the clip, in canvas widths. */
    public static final double TRAVEL = 0.5;
    /** Nominal size (a quarter of the canvas). */
    public static final double NOMINAL_SIZE = 0.25;
    /** Smallest size, 0.25 - 10%. */
    public static final double MIN_SIZE = NOMINAL_SIZE * 0.9;
    /** Largest size, 0.25 + 10%. */
    public static final double MAX_SIZE = NOMINAL_SIZE * 1.1;

    private static final double EPS = 1e-12;

    /** Validates the size and that the whole shape stays inside the canvas for the whole path. */
    public WorldClip {
        Objects.requireNonNull(caption, "caption");
        if (!(size >= MIN_SIZE - EPS && size <= MAX_SIZE + EPS)) {
            throw new IllegalArgumentException("size " + size + " out of range [" + MIN_SIZE + ", " + MAX_SIZE
                    + "] (canvas fractions)");
        }
        double endX = startX + TRAVEL * caption.direction().dx();
        double endY = startY + TRAVEL * caption.direction().dy();
        double h = size / 2;
        for (double v : new double[] {startX, startY, endX, endY}) {
            if (!(v - h >= -EPS && v + h <= 1 + EPS)) {
                throw new IllegalArgumentException("clip leaves the canvas: start (" + startX + ", " + startY
                        + "), end (" + endX + ", " + endY + "), size " + size + "; every centre coordinate must be in ["
                        + h + ", " + (1 - h) + "]");
            }
        }
    }

    /**
     * A random clip for {@code caption}: size uniform in [{@link #MIN_SIZE}, {@link #MAX_SIZE}], start along the
     * motion uniform over the positions whose path fits, offset across the motion uniform over the positions that
     * fit. Deterministic in (caption, seed); different captions with the same seed get different clips.
     */
    public static WorldClip random(Caption caption, long seed) {
        Objects.requireNonNull(caption, "caption");
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + caption.index() * 0xBF58476D1CE4E5B9L
                + 0x94D049BB133111EBL);
        double size = MIN_SIZE + (MAX_SIZE - MIN_SIZE) * rnd.nextDouble();
        double h = size / 2;
        // Along the motion: the lower end of the path lies in [h, 1 - h - TRAVEL].
        double low = h + (1 - 2 * h - TRAVEL) * rnd.nextDouble();
        double across = h + (1 - 2 * h) * rnd.nextDouble();
        Direction d = caption.direction();
        double along = switch (d) {
            case RIGHT, DOWN -> low;
            case LEFT, UP -> low + TRAVEL;
        };
        return d.horizontal() ? new WorldClip(caption, size, along, across) : new WorldClip(caption, size, across, along);
    }

    /**
     * The centre at time {@code seconds}, as {x, y} in canvas fractions.
     *
     * @throws IllegalArgumentException when seconds is outside [0, {@link #DURATION_SECONDS}]
     */
    public double[] centreAt(double seconds) {
        if (!(seconds >= 0 && seconds <= DURATION_SECONDS)) {
            throw new IllegalArgumentException("time " + seconds + " s out of range [0, " + DURATION_SECONDS + "]");
        }
        double f = TRAVEL * seconds / DURATION_SECONDS;
        return new double[] {startX + f * caption.direction().dx(), startY + f * caption.direction().dy()};
    }
}
