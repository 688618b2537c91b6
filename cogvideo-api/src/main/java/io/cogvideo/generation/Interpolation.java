package io.cogvideo.generation;

import io.cogvideo.CogVideoException;

/**
 * The index arithmetic of a stage-2 interpolation round, as {@code cogvideo_pipeline.py} does it. A sample of
 * {@code n} frames (n odd: 5, 9, 17) has {@code (n - 1) / 2} windows; window {@code w} is the five-block sequence
 * {@code [P(2w), P(2w+1), P(2w+2), G1, G3]}: three parent frames given at temporal slots 0, 2, 4 and two generated
 * frames at slots 1 and 3 (see {@link SequenceLayout#STAGE2_SLOTS}). Merging puts the generated frames between their
 * parents, so a sample grows to {@code 2n - 1} frames: parents at the even indexes, generated frames at the odd ones.
 * Not part of the user API (internal to the pipeline; public for tests).
 */
public final class Interpolation {
    /** Blocks of a stage-2 window sequence. */
    public static final int WINDOW_BLOCKS = 5;
    /** Parent frames given at the start of a window. */
    public static final int GIVEN_BLOCKS = 3;

    private Interpolation() {
    }

    /** Windows of a sample of {@code n} frames: {@code (n - 1) / 2}. */
    public static int windows(int n) {
        return (n - 1) / 2;
    }

    /**
     * The initial sequence of window {@code w} of one sample: copies of parents {@code 2w, 2w+1, 2w+2}, then two
     * zero blocks of {@code frameLength} tokens for the frames to generate.
     *
     * @param parents [n][L] the sample's frames
     * @return [5][L]
     */
    public static int[][] window(int[][] parents, int w, int frameLength) {
        if (w < 0 || w >= windows(parents.length)) {
            throw new CogVideoException("window must be in [0, " + windows(parents.length) + ") for "
                    + parents.length + " frames, got " + w);
        }
        return new int[][] {parents[2 * w].clone(), parents[2 * w + 1].clone(), parents[2 * w + 2].clone(),
            new int[frameLength], new int[frameLength]};
    }

    /**
     * Merges a round's generated windows into the samples: for sample {@code s}, frame {@code 2i} is parent
     * {@code i}, frame {@code 4w + 1} is block 3 of window {@code w} and frame {@code 4w + 3} is its block 4.
     *
     * @param parents   [samples][n][L] the frames the round started from
     * @param generated [samples * windows][5][L] the windows after generation, sample-major (window {@code w} of
     *                  sample {@code s} at {@code s * windows + w}); only blocks 3 and 4 are read, blocks 0-2 are
     *                  the parents again
     * @param windows   windows per sample, {@code (n - 1) / 2}
     * @return [samples][2n - 1][L] new arrays (nothing aliases the inputs)
     */
    public static int[][][] merge(int[][][] parents, int[][][] generated, int windows) {
        int samples = parents.length;
        if (samples == 0 || windows < 1 || parents[0].length != 2 * windows + 1
                || generated.length != samples * windows) {
            throw new CogVideoException("interpolation merge: need parents [samples][2 * windows + 1] and "
                    + "samples * windows generated windows; got " + samples + " samples of "
                    + (samples == 0 ? 0 : parents[0].length) + " frames, windows=" + windows + ", "
                    + generated.length + " generated windows");
        }
        int n = parents[0].length;
        int[][][] merged = new int[samples][2 * n - 1][];
        for (int s = 0; s < samples; s++) {
            for (int i = 0; i < n; i++) {
                merged[s][2 * i] = parents[s][i].clone();
            }
            for (int w = 0; w < windows; w++) {
                int[][] win = generated[s * windows + w];
                if (win.length != WINDOW_BLOCKS) {
                    throw new CogVideoException("generated window " + (s * windows + w) + " has " + win.length
                            + " blocks, expected " + WINDOW_BLOCKS);
                }
                merged[s][4 * w + 1] = win[3].clone(); // temporal slot 1 of the window
                merged[s][4 * w + 3] = win[4].clone(); // temporal slot 3 of the window
            }
        }
        return merged;
    }
}
