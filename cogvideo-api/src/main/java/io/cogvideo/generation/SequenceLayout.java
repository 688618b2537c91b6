package io.cogvideo.generation;

import io.cogvideo.model.CogVideoConfig;

/**
 * Position ids of CogVideo sequences ({@code get_masks_and_position_ids_stage1/2} of the original pipeline).
 * A sequence is {@code [text (T tokens) ; frame blocks of L tokens]}; text positions are {@code 0..T-1}.
 * Stage 1 puts frame block {@code k} at positions {@code 512 + L·k ...}; stage 2 orders the blocks of a window as
 * the given parent frames first (temporal slots 0, 2, 4) and the generated ones after (slots 1, 3), each keeping the
 * positions of its temporal slot.
 */
public final class SequenceLayout {
    /** Temporal slot of each stage-2 sequence block. */
    public static final int[] STAGE2_SLOTS = {0, 2, 4, 1, 3};

    private SequenceLayout() {
    }

    /** Position id of sequence index {@code i}. */
    public static int position(int stage, int textLength, int frameLength, int i) {
        if (i < textLength) {
            return i;
        }
        int f = i - textLength;
        if (stage == 1) {
            return CogVideoConfig.FRAME_POSITION_BASE + f;
        }
        int block = f / frameLength;
        if (block >= STAGE2_SLOTS.length) {
            throw new IllegalArgumentException("stage-2 sequences have " + STAGE2_SLOTS.length + " blocks, index " + i
                    + " is in block " + block);
        }
        return CogVideoConfig.FRAME_POSITION_BASE + STAGE2_SLOTS[block] * frameLength + f % frameLength;
    }

    /** Position ids of indexes {@code [0, n)}. */
    public static int[] positions(int stage, int textLength, int frameLength, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = position(stage, textLength, frameLength, i);
        }
        return p;
    }
}
