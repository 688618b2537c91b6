package io.cogvideo.examples.demo.world;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Checks a video of the demo world against the caption it was asked for.
 *
 * <p>Per frame ({@link #measure(float[], int, int)}):
 * <ol>
 *   <li>Segmentation: a pixel is foreground when its darkness {@code max(1 - r, 1 - g, 1 - b)} exceeds
 *       {@link #SEGMENT_THRESHOLD}; every palette colour has darkness >= 0.84 at full coverage, so this keeps pixels
 *       covered about 40% or more. The mask is then opened with a 3 x 3 square (erosion, then dilation), which drops
 *       noise specks and speckle bridges thinner than 3 pixels and keeps rectangles exactly (it also trims the
 *       triangle's apex by a few pixels). The shape is the largest 8-connected blob of the opened mask.</li>
 *   <li>A blob of fewer than {@link #MIN_PIXELS_FRACTION} of the frame is "no shape"; a blob whose bounding box is
 *       narrower than {@link #MIN_EXTENT} or wider than {@link #MAX_EXTENT} of the canvas on either axis, or more
 *       elongated than {@link #MAX_ASPECT}, is "implausible" (noise makes one blob spanning the frame). Both count as
 *       frames without a shape.</li>
 *   <li>Colour: the mean of the blob's core pixels (those whose 4 neighbours are all foreground; all blob pixels when
 *       there are none) and the nearest palette colour, if within {@link #COLOUR_TOLERANCE}.</li>
 *   <li>Shape from the fill ratio (blob pixels / bounding-box pixels): circle pi/4, square 1, triangle 1/2 in the
 *       continuum. Measured on rendered ground truth at 96 px (all 48 captions, seeds 0..9, 33 frames each, 15840
 *       frames; {@code WorldEvaluatorTest.fillRatiosOfGroundTruthSitBetweenTheCuts} re-measures seeds 0..3): triangle 0.578..0.640, circle
 *       0.745..0.833, square 0.992..1.000. The cuts {@link #TRIANGLE_MAX_FILL} = 0.69 and {@link #CIRCLE_MAX_FILL} =
 *       0.91 sit at the midpoints between these ranges. Degraded ground truth (a 5 x 5 box blur with Gaussian noise
 *       of sigma 0.05 per channel) still classifies: mean fills triangle 0.62..0.67, circle 0.78..0.80, square
 *       0.92..0.96.</li>
 *   <li>Centroid: the darkness-weighted mean position over the blob's bounding box grown by one pixel (pixels darker
 *       than {@link #NOISE_FLOOR}); for a rendered frame darkness is proportional to coverage, so this is the
 *       sub-pixel centroid of the drawn shape.</li>
 * </ol>
 *
 * <p>Per video ({@link #score(float[][], int, int, Caption)}): the majority colour and shape over the frames with a
 * shape; the direction from a least-squares line through the centroids against time (the frames span the 4 s clip
 * evenly): the dominant axis of the fitted displacement and its sign; travel = that displacement's size in canvas
 * fractions (0.5 for the world's ground truth, whatever the frame rate); smoothness = fraction of all frame-to-frame
 * steps whose centroid moves the requested way by more than 0 (a step touching a frame without a shape does not).
 *
 * <p>Stateless and thread-safe.
 */
public final class WorldEvaluator {
    /** Darkness above which a pixel is foreground. */
    public static final double SEGMENT_THRESHOLD = 0.3;
    /** Darkness below which a pixel does not weigh in the centroid. */
    public static final double NOISE_FLOOR = 0.02;
    /** Smallest blob, as a fraction of the frame's pixels (46 px at 96 x 96; the smallest shape has about 230). */
    public static final double MIN_PIXELS_FRACTION = 0.005;
    /** Smallest bounding-box side in canvas fractions (the world's shapes are 0.225..0.275). */
    public static final double MIN_EXTENT = 0.08;
    /** Largest bounding-box side in canvas fractions. */
    public static final double MAX_EXTENT = 0.5;
    /** Largest ratio of the longer to the shorter bounding-box side (the world's shapes have 1). */
    public static final double MAX_ASPECT = 2.0;
    /** Largest RGB distance (values in [0, 1]) from the core mean to a palette colour (palette colours are >= 0.59 apart). */
    public static final double COLOUR_TOLERANCE = 0.25;
    /** Fill ratios below this are triangles. */
    public static final double TRIANGLE_MAX_FILL = 0.69;
    /** Fill ratios from {@link #TRIANGLE_MAX_FILL} to below this are circles; from this up, squares. */
    public static final double CIRCLE_MAX_FILL = 0.91;
    /** Smallest travel (canvas fractions) for directionOk. */
    public static final double MIN_TRAVEL = 0.30;
    /** Smallest smoothness for a video to pass. */
    public static final double MIN_SMOOTHNESS = 0.8;

    /** Creates an evaluator (it holds no state). */
    public WorldEvaluator() {
    }

    /**
     * Scores a video given as RGB planar frames.
     *
     * @param frames at least 2 frames, each RGB planar [3, height, width] with values in [0, 1], spanning the clip
     *     evenly in time (33 frames at 8 fps, 5 at 1 fps)
     * @param requested the caption the video was asked for
     */
    public VideoScore score(float[][] frames, int width, int height, Caption requested) {
        Objects.requireNonNull(frames, "frames");
        Objects.requireNonNull(requested, "requested");
        if (frames.length < 2) {
            throw new IllegalArgumentException("a video needs at least 2 frames, got " + frames.length);
        }
        List<FrameMeasure> ms = new ArrayList<>(frames.length);
        for (int k = 0; k < frames.length; k++) {
            ms.add(measure(frames[k], width, height));
        }
        return aggregate(ms, requested);
    }

    /** Scores a video given as images (see {@link #score(float[][], int, int, Caption)}); all must be one size. */
    public VideoScore score(List<BufferedImage> frames, Caption requested) {
        Objects.requireNonNull(frames, "frames");
        if (frames.size() < 2) {
            throw new IllegalArgumentException("a video needs at least 2 frames, got " + frames.size());
        }
        int w = frames.get(0).getWidth();
        int h = frames.get(0).getHeight();
        float[][] f = new float[frames.size()][];
        for (int k = 0; k < f.length; k++) {
            BufferedImage img = frames.get(k);
            if (img.getWidth() != w || img.getHeight() != h) {
                throw new IllegalArgumentException("frame " + k + " is " + img.getWidth() + " x " + img.getHeight()
                        + ", frame 0 is " + w + " x " + h);
            }
            f[k] = toPlanar(img);
        }
        return score(f, w, h, requested);
    }

    /**
     * Relative difference of two videos' travel: |a - b| / max(a, b), 0 when both are 0. Used to check that a clip
     * sampled at 1 fps and at 8 fps moves the same distance.
     */
    public static double compareTravel(VideoScore a, VideoScore b) {
        double m = Math.max(a.travel(), b.travel());
        return m == 0 ? 0 : Math.abs(a.travel() - b.travel()) / m;
    }

    /** Converts an image to RGB planar [3, height, width] in [0, 1]. */
    public static float[] toPlanar(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int plane = w * h;
        int[] px = img.getRGB(0, 0, w, h, null, 0, w);
        float[] f = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            f[p] = ((px[p] >> 16) & 0xFF) / 255f;
            f[plane + p] = ((px[p] >> 8) & 0xFF) / 255f;
            f[2 * plane + p] = (px[p] & 0xFF) / 255f;
        }
        return f;
    }

    /**
     * Measures one frame.
     *
     * @param frame RGB planar [3, height, width], values in [0, 1]
     * @param width 8..4096
     * @param height 8..4096
     */
    public FrameMeasure measure(float[] frame, int width, int height) {
        Objects.requireNonNull(frame, "frame");
        if (width < 8 || width > 4096 || height < 8 || height > 4096) {
            throw new IllegalArgumentException("frame size " + width + " x " + height + " out of range [8, 4096]");
        }
        int plane = width * height;
        if (frame.length != 3 * plane) {
            throw new IllegalArgumentException("frame has " + frame.length + " values, expected 3 * " + height + " * "
                    + width + " = " + 3 * plane);
        }
        float[] dark = new float[plane];
        boolean[] fg = new boolean[plane];
        for (int p = 0; p < plane; p++) {
            float d = Math.max(1 - frame[p], Math.max(1 - frame[plane + p], 1 - frame[2 * plane + p]));
            d = Math.max(0f, Math.min(1f, d));
            dark[p] = d;
            fg[p] = d > SEGMENT_THRESHOLD;
        }
        fg = open3x3(fg, width, height);
        // Largest 8-connected foreground blob.
        int[] label = new int[plane];
        int[] stack = new int[plane];
        int best = 0;
        int bestCount = 0;
        int next = 0;
        for (int start = 0; start < plane; start++) {
            if (!fg[start] || label[start] != 0) {
                continue;
            }
            next++;
            int count = 0;
            int sp = 0;
            stack[sp++] = start;
            label[start] = next;
            while (sp > 0) {
                int p = stack[--sp];
                count++;
                int i = p / width;
                int j = p - i * width;
                for (int di = -1; di <= 1; di++) {
                    int ii = i + di;
                    if (ii < 0 || ii >= height) {
                        continue;
                    }
                    for (int dj = -1; dj <= 1; dj++) {
                        int jj = j + dj;
                        if (jj < 0 || jj >= width) {
                            continue;
                        }
                        int q = ii * width + jj;
                        if (fg[q] && label[q] == 0) {
                            label[q] = next;
                            stack[sp++] = q;
                        }
                    }
                }
            }
            if (count > bestCount) {
                bestCount = count;
                best = next;
            }
        }
        if (bestCount < MIN_PIXELS_FRACTION * plane) {
            return FrameMeasure.missing("no shape", bestCount);
        }
        int minI = height;
        int maxI = -1;
        int minJ = width;
        int maxJ = -1;
        double sr = 0;
        double sg = 0;
        double sb = 0;
        int core = 0;
        double ar = 0;
        double ag = 0;
        double ab = 0;
        for (int p = 0; p < plane; p++) {
            if (label[p] != best) {
                continue;
            }
            int i = p / width;
            int j = p - i * width;
            minI = Math.min(minI, i);
            maxI = Math.max(maxI, i);
            minJ = Math.min(minJ, j);
            maxJ = Math.max(maxJ, j);
            ar += frame[p];
            ag += frame[plane + p];
            ab += frame[2 * plane + p];
            boolean interior = i > 0 && i < height - 1 && j > 0 && j < width - 1 && fg[p - 1] && fg[p + 1]
                    && fg[p - width] && fg[p + width];
            if (interior) {
                sr += frame[p];
                sg += frame[plane + p];
                sb += frame[2 * plane + p];
                core++;
            }
        }
        double bw = (maxJ - minJ + 1) / (double) width;
        double bh = (maxI - minI + 1) / (double) height;
        double aspect = Math.max(bw, bh) / Math.min(bw, bh);
        if (Math.min(bw, bh) < MIN_EXTENT || Math.max(bw, bh) > MAX_EXTENT || aspect > MAX_ASPECT) {
            return FrameMeasure.missing("implausible", bestCount);
        }
        double[] mean = core > 0 ? new double[] {sr / core, sg / core, sb / core}
                : new double[] {ar / bestCount, ag / bestCount, ab / bestCount};
        Colour colour = null;
        double colourDistance = Double.POSITIVE_INFINITY;
        for (Colour c : Colour.values()) {
            float[] rgb = c.rgb();
            double dr = mean[0] - rgb[0];
            double dg = mean[1] - rgb[1];
            double db = mean[2] - rgb[2];
            double d = Math.sqrt(dr * dr + dg * dg + db * db);
            if (d < colourDistance) {
                colourDistance = d;
                colour = c;
            }
        }
        if (colourDistance > COLOUR_TOLERANCE) {
            colour = null;
        }
        double fill = bestCount / (double) ((maxI - minI + 1) * (maxJ - minJ + 1));
        Shape shape = fill < TRIANGLE_MAX_FILL ? Shape.TRIANGLE : fill < CIRCLE_MAX_FILL ? Shape.CIRCLE : Shape.SQUARE;
        // Darkness-weighted centroid over the bounding box grown by one pixel.
        double sw = 0;
        double sx = 0;
        double sy = 0;
        for (int i = Math.max(0, minI - 1); i <= Math.min(height - 1, maxI + 1); i++) {
            for (int j = Math.max(0, minJ - 1); j <= Math.min(width - 1, maxJ + 1); j++) {
                float d = dark[i * width + j];
                if (d > NOISE_FLOOR) {
                    sw += d;
                    sx += d * (j + 0.5);
                    sy += d * (i + 0.5);
                }
            }
        }
        return new FrameMeasure(true, "", bestCount, colour, colourDistance, fill, shape, bw, bh, sx / sw / width,
                sy / sw / height);
    }

    /**
     * Morphological opening with a 3 x 3 square (erosion, then dilation; outside the frame counts as background):
     * removes foreground thinner than 3 pixels (noise specks, speckle bridges to the shape's edge) and keeps
     * axis-aligned rectangles exactly.
     */
    static boolean[] open3x3(boolean[] mask, int width, int height) {
        boolean[] eroded = new boolean[mask.length];
        for (int i = 1; i < height - 1; i++) {
            for (int j = 1; j < width - 1; j++) {
                boolean all = true;
                for (int di = -1; di <= 1 && all; di++) {
                    int row = (i + di) * width + j;
                    all = mask[row - 1] && mask[row] && mask[row + 1];
                }
                eroded[i * width + j] = all;
            }
        }
        boolean[] opened = new boolean[mask.length];
        for (int i = 0; i < height; i++) {
            for (int j = 0; j < width; j++) {
                boolean any = false;
                for (int di = -1; di <= 1 && !any; di++) {
                    int ii = i + di;
                    if (ii < 0 || ii >= height) {
                        continue;
                    }
                    for (int dj = -1; dj <= 1 && !any; dj++) {
                        int jj = j + dj;
                        any = jj >= 0 && jj < width && eroded[ii * width + jj];
                    }
                }
                opened[i * width + j] = any;
            }
        }
        return opened;
    }

    private static VideoScore aggregate(List<FrameMeasure> ms, Caption requested) {
        int n = ms.size();
        int found = 0;
        Map<Colour, Integer> colourVotes = new EnumMap<>(Colour.class);
        Map<Shape, Integer> shapeVotes = new EnumMap<>(Shape.class);
        double fillSum = 0;
        // Least squares of x(u), y(u) with u = k / (n - 1), the fraction of the clip.
        double su = 0;
        double suu = 0;
        double sx = 0;
        double sy = 0;
        double sux = 0;
        double suy = 0;
        for (int k = 0; k < n; k++) {
            FrameMeasure m = ms.get(k);
            if (!m.found()) {
                continue;
            }
            found++;
            if (m.colour() != null) {
                colourVotes.merge(m.colour(), 1, Integer::sum);
            }
            shapeVotes.merge(m.shape(), 1, Integer::sum);
            fillSum += m.fill();
            double u = k / (double) (n - 1);
            su += u;
            suu += u * u;
            sx += m.centroidX();
            sy += m.centroidY();
            sux += u * m.centroidX();
            suy += u * m.centroidY();
        }
        Colour colour = majority(colourVotes);
        Shape shape = majority(shapeVotes);
        int colourFrames = colourVotes.getOrDefault(requested.colour(), 0);
        int shapeFrames = shapeVotes.getOrDefault(requested.shape(), 0);
        Direction direction = null;
        double travel = 0;
        double along = 0;
        double den = found * suu - su * su;
        if (found >= 2 && den > 1e-12) {
            double slopeX = (found * sux - su * sx) / den;
            double slopeY = (found * suy - su * sy) / den;
            if (Math.abs(slopeX) >= Math.abs(slopeY) && slopeX != 0) {
                direction = slopeX > 0 ? Direction.RIGHT : Direction.LEFT;
                travel = Math.abs(slopeX);
            } else if (slopeY != 0) {
                direction = slopeY > 0 ? Direction.DOWN : Direction.UP;
                travel = Math.abs(slopeY);
            }
            along = slopeX * requested.direction().dx() + slopeY * requested.direction().dy();
        }
        int forward = 0;
        for (int k = 0; k + 1 < n; k++) {
            FrameMeasure a = ms.get(k);
            FrameMeasure b = ms.get(k + 1);
            if (a.found() && b.found()) {
                double d = (b.centroidX() - a.centroidX()) * requested.direction().dx()
                        + (b.centroidY() - a.centroidY()) * requested.direction().dy();
                if (d > 0) {
                    forward++;
                }
            }
        }
        boolean enough = 2 * found >= n;
        boolean colourOk = enough && colour == requested.colour();
        boolean shapeOk = enough && shape == requested.shape();
        boolean directionOk = direction == requested.direction() && travel >= MIN_TRAVEL;
        return new VideoScore(requested, n, n - found, colour, colourFrames, shape, shapeFrames,
                found == 0 ? Double.NaN : fillSum / found, direction, travel, along, n - 1, forward, colourOk, shapeOk,
                directionOk, ms);
    }

    private static <E extends Enum<E>> E majority(Map<E, Integer> votes) {
        E best = null;
        int bestCount = 0;
        for (Map.Entry<E, Integer> e : votes.entrySet()) {
            if (e.getValue() > bestCount) {
                best = e.getKey();
                bestCount = e.getValue();
            }
        }
        return best;
    }
}
