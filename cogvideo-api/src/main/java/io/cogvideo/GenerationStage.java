package io.cogvideo;

/** The stages of a generation, in the order they run. */
public enum GenerationStage {
    /** Frame 0 in image mode (CogView2's part of the stage-1 model). */
    FIRST_FRAME,
    /** Stage 1: key frames 1-4 at 1 fps ("4.0秒"). */
    KEY_FRAMES,
    /** Stage 2, round 1: "2.0秒" windows, 9 frames. */
    INTERPOLATION_1,
    /** Stage 2, round 2: "1.0秒" windows, 17 frames. */
    INTERPOLATION_2,
    /** Stage 2, round 3: "0.5秒" windows, 33 frames. */
    INTERPOLATION_3,
    /** CogView2's direct super-resolution: each 20x20-token frame becomes 60x60 tokens (480x480 pixels). */
    SUPER_RESOLUTION,
    /** VQ-VAE decoding of token grids into pixels. */
    DECODING;

    /** The interpolation stage of round {@code r} (1-based). */
    public static GenerationStage interpolation(int round) {
        return switch (round) {
            case 1 -> INTERPOLATION_1;
            case 2 -> INTERPOLATION_2;
            case 3 -> INTERPOLATION_3;
            default -> throw new IllegalArgumentException("interpolation round must be 1..3, got " + round);
        };
    }
}
