package io.cogvideo.examples.demo.world;

/**
 * What {@link WorldEvaluator} sees in one frame.
 *
 * @param found whether a plausible shape was segmented (see {@link WorldEvaluator} for the rules); when false every
 *     other field except {@code pixels} and {@code reason} is null or NaN
 * @param reason why no shape was found ("no shape": too few non-background pixels; "implausible": the largest blob's
 *     bounding box is too small, too large or too elongated to be a shape of the world); empty when found
 * @param pixels pixels in the largest segmented blob (0 when nothing was segmented)
 * @param colour nearest palette colour of the blob's core pixels, or null when found is false or the mean colour is
 *     farther than {@link WorldEvaluator#COLOUR_TOLERANCE} from every palette colour
 * @param colourDistance Euclidean RGB distance (values in [0, 1]) from the core mean to the nearest palette colour
 * @param fill blob pixels / bounding-box pixels
 * @param shape the shape classified from {@code fill}, or null when found is false
 * @param width bounding-box width in canvas fractions
 * @param height bounding-box height in canvas fractions
 * @param centroidX darkness-weighted centroid x in canvas fractions (image coordinates)
 * @param centroidY darkness-weighted centroid y in canvas fractions (image coordinates, y down)
 */
public record FrameMeasure(boolean found, String reason, int pixels, Colour colour, double colourDistance, double fill,
        Shape shape, double width, double height, double centroidX, double centroidY) {

    static FrameMeasure missing(String reason, int pixels) {
        return new FrameMeasure(false, reason, pixels, null, Double.NaN, Double.NaN, null, Double.NaN, Double.NaN,
                Double.NaN, Double.NaN);
    }
}
