package io.cogvideo.generation;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The merge after a stage-2 interpolation round (spec §3.2, {@code cogvideo_pipeline.py:533-539}): window {@code w}
 * of a sample is the sequence {@code [parent 2w, parent 2w+1, parent 2w+2, generated slot 1, generated slot 3]}
 * (blocks in sequence order, §3.1), and the merged clip is, over the windows,
 * {@code [given0, gen1, given2, gen3]} followed by the last parent: parents at the even slots, the generated blocks
 * 3 and 4 of window {@code w} at slots {@code 4w + 1} and {@code 4w + 3}, {@code 2n - 1} frames from {@code n}.
 *
 * <p>The expected layout is computed here, independently; {@link #merge} is the one call of the code under test,
 * {@link Interpolation#merge}.
 */
class InterpolationMergeTest {

    /**
     * The code under test: merges the generated windows ({@code windows[s * perSample + w]}, 5 frames each in
     * sequence order) of {@code samples} samples into clips of {@code 4 * perSample + 1} frames.
     */
    private static int[][][] merge(int[][][] windows, int samples, int perSample) {
        // the parents the round started from: blocks 0 and 1 of every window, and block 2 of the last one
        int[][][] parents = new int[samples][2 * perSample + 1][];
        for (int s = 0; s < samples; s++) {
            for (int w = 0; w < perSample; w++) {
                parents[s][2 * w] = windows[s * perSample + w][0];
                parents[s][2 * w + 1] = windows[s * perSample + w][1];
            }
            parents[s][2 * perSample] = windows[s * perSample + perSample - 1][2];
        }
        return Interpolation.merge(parents, windows, perSample);
    }

    /** A frame whose tokens say what it is: {@code [sample, kind (0 parent, 1 generated), index, fill...]}. */
    private static int[] frame(int sample, int kind, int index, int length) {
        int[] f = new int[length];
        f[0] = sample;
        f[1] = kind;
        f[2] = index;
        for (int i = 3; i < length; i++) {
            f[i] = (sample * 131 + kind * 17 + index * 7 + i) % 20000;
        }
        return f;
    }

    /** The windows the pipeline feeds stage 2 from parents [sample][n], with generated frames numbered in clip order. */
    private static int[][][] windows(int[][][] parents, int length) {
        int samples = parents.length;
        int perSample = (parents[0].length - 1) / 2;
        int[][][] out = new int[samples * perSample][][];
        for (int s = 0; s < samples; s++) {
            for (int w = 0; w < perSample; w++) {
                out[s * perSample + w] = new int[][] {
                    parents[s][2 * w].clone(), parents[s][2 * w + 1].clone(), parents[s][2 * w + 2].clone(),
                    frame(s, 1, 2 * w, length), // block 3: temporal slot 1, between parents 2w and 2w+1
                    frame(s, 1, 2 * w + 1, length), // block 4: temporal slot 3, between parents 2w+1 and 2w+2
                };
            }
        }
        return out;
    }

    /** The expected clip, written from the spec's slot rule (not from the pipeline's loop). */
    private static int[][] expectedClip(int[][] parents, int sample, int length) {
        int n = parents.length;
        int[][] clip = new int[2 * n - 1][];
        for (int slot = 0; slot < clip.length; slot++) {
            // even slot 2m: parent m; odd slot 2m+1: the frame generated between parents m and m+1
            clip[slot] = slot % 2 == 0 ? parents[slot / 2] : frame(sample, 1, slot / 2, length);
        }
        return clip;
    }

    @Test
    void oneRoundPutsParentsAtEvenSlotsAndGeneratedFramesBetween() {
        int length = 400;
        for (int samples : new int[] {1, 3}) {
            int[][][] parents = new int[samples][5][];
            for (int s = 0; s < samples; s++) {
                for (int i = 0; i < 5; i++) {
                    parents[s][i] = frame(s, 0, i, length);
                }
            }
            int[][][] merged = merge(windows(parents, length), samples, 2);
            assertThat(merged).hasNumberOfRows(samples);
            for (int s = 0; s < samples; s++) {
                int[][] expected = expectedClip(parents[s], s, length);
                assertThat(merged[s]).as("sample " + s + ": 9 frames from 5").hasNumberOfRows(9);
                for (int slot = 0; slot < 9; slot++) {
                    assertThat(merged[s][slot]).as("sample " + s + " slot " + slot + " (" + (slot % 2 == 0
                            ? "parent " + slot / 2 : "generated") + ")").containsExactly(expected[slot]);
                }
                assertThat(merged[s][8]).as("the last parent ends the clip").containsExactly(parents[s][4]);
            }
        }
    }

    @Test
    void roundsGrowTheClipFrom5To9To17To33Frames() {
        int length = 4;
        int[][][] parents = {new int[5][]};
        for (int i = 0; i < 5; i++) {
            parents[0][i] = frame(0, 0, i, length);
        }
        for (int expected : new int[] {9, 17, 33}) {
            int perSample = (parents[0].length - 1) / 2;
            int[][][] merged = merge(windows(parents, length), 1, perSample);
            int[][] clip = expectedClip(parents[0], 0, length);
            assertThat(merged[0]).hasNumberOfRows(expected);
            for (int slot = 0; slot < expected; slot++) {
                assertThat(merged[0][slot]).as("slot " + slot + " of " + expected).containsExactly(clip[slot]);
            }
            parents = merged;
        }
    }

    @Test
    void theExpectationsFollowTheSpecTable() {
        // self-check of the expectation builder (runs today): frame counts of §3.2 and the slot rule
        int[][] parents = new int[5][];
        for (int i = 0; i < 5; i++) {
            parents[i] = frame(0, 0, i, 4);
        }
        int[][] clip = expectedClip(parents, 0, 4);
        assertThat(clip).hasNumberOfRows(9);
        for (int slot = 0; slot < 9; slot++) {
            assertThat(clip[slot][1]).as("slot " + slot + " kind").isEqualTo(slot % 2);
        }
        int[][][] w = windows(new int[][][] {parents}, 4);
        assertThat(w).hasNumberOfRows(2);
        // window 1 starts with parent 2, which window 0 ended with: the shared parent appears once in the clip
        assertThat(w[1][0]).containsExactly(w[0][2]);
        assertThat(w[0][3]).containsExactly(clip[1]);
        assertThat(w[0][4]).containsExactly(clip[3]);
        assertThat(w[1][3]).containsExactly(clip[5]);
        assertThat(w[1][4]).containsExactly(clip[7]);
    }
}
