package io.cogvideo.examples.demo.world;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * How well one video shows its caption, as measured by {@link WorldEvaluator}.
 *
 * @param requested the caption the video was asked for
 * @param frameCount frames in the video
 * @param missingFrames frames in which no plausible shape was found
 * @param colour the colour most frames show, or null when no frame had a recognised colour
 * @param colourFrames frames whose colour is the requested one
 * @param shape the shape most frames show, or null when no frame had a shape
 * @param shapeFrames frames whose shape is the requested one
 * @param meanFill mean bounding-box fill ratio over the frames with a shape (NaN when none)
 * @param direction the direction of the centroid track's least-squares fit (dominant axis and sign), or null with
 *     fewer than 2 frames with a shape or no motion at all
 * @param travel the fitted displacement over the clip along the dominant axis, in canvas fractions (>= 0; 0 when
 *     direction is null)
 * @param travelAlongCaption the fitted displacement projected on the requested direction (negative when the shape
 *     moves the other way)
 * @param steps frame-to-frame steps, frameCount - 1
 * @param forwardSteps steps between two frames with a shape whose centroid moves the requested way by more than 0
 * @param colourOk the majority colour is the requested one and at least half the frames have a shape
 * @param shapeOk the majority shape is the requested one and at least half the frames have a shape
 * @param directionOk the direction is the requested one and travel >= {@link WorldEvaluator#MIN_TRAVEL}
 * @param frames the per-frame measures, in order
 */
public record VideoScore(Caption requested, int frameCount, int missingFrames, Colour colour, int colourFrames,
        Shape shape, int shapeFrames, double meanFill, Direction direction, double travel, double travelAlongCaption,
        int steps, int forwardSteps, boolean colourOk, boolean shapeOk, boolean directionOk,
        List<FrameMeasure> frames) {

    /** Validates counts and copies the frame list. */
    public VideoScore {
        Objects.requireNonNull(requested, "requested");
        if (frameCount < 2 || frames.size() != frameCount || steps != frameCount - 1 || forwardSteps < 0
                || forwardSteps > steps || missingFrames < 0 || missingFrames > frameCount) {
            throw new IllegalArgumentException("inconsistent score: frameCount " + frameCount + " (>= 2), "
                    + frames.size() + " frame measures, steps " + steps + ", forwardSteps " + forwardSteps
                    + ", missingFrames " + missingFrames);
        }
        frames = List.copyOf(frames);
    }

    /** forwardSteps / steps: the fraction of frame-to-frame steps that go the requested way. */
    public double smoothness() {
        return forwardSteps / (double) steps;
    }

    /** True when colour, shape and direction are right and smoothness >= {@link WorldEvaluator#MIN_SMOOTHNESS}. */
    public boolean passed() {
        return colourOk && shapeOk && directionOk && smoothness() >= WorldEvaluator.MIN_SMOOTHNESS;
    }

    /**
     * One line: PASS or FAIL, the caption, and each check, e.g. {@code PASS red circle right: colour red ok, shape
     * circle ok (fill 0.79), direction right ok (travel 0.50), smoothness 1.00, 0/33 frames without a shape}. A video
     * where no frame has a shape reads {@code FAIL ...: no shape in any of the 33 frames}.
     */
    public String summary() {
        String head = (passed() ? "PASS " : "FAIL ") + requested.asciiName() + " (" + requested.text() + "): ";
        if (missingFrames == frameCount) {
            return head + "no shape in any of the " + frameCount + " frames";
        }
        return head + String.format(Locale.ROOT,
                "colour %s %s, shape %s %s (fill %.2f), direction %s %s (travel %.2f), smoothness %.2f %s, %d/%d "
                        + "frames without a shape",
                colour == null ? "unknown" : colour.english(), colourOk ? "ok" : "WRONG",
                shape == null ? "unknown" : shape.english(), shapeOk ? "ok" : "WRONG", meanFill,
                direction == null ? "none" : direction.english(), directionOk ? "ok" : "WRONG", travel, smoothness(),
                smoothness() >= WorldEvaluator.MIN_SMOOTHNESS ? "ok" : "LOW", missingFrames, frameCount);
    }
}
