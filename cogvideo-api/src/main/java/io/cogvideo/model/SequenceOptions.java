package io.cogvideo.model;

import io.cogvideo.CogVideoException;

/**
 * How one sequence is attended, as chosen by the pipeline for each call of the original {@code my_filling_sequence}.
 *
 * @param stage            1: the temporal (attention-plus) channel is full causal attention over all frames
 *                         ({@code InferenceModel_Sequential}); 2: it is 3D window attention
 *                         ({@code InferenceModel_Interpolate}), frames 0..2 of the sequence given
 * @param windowSize       stage 2 only: spatial window edge (10); odd layers shift by {@code windowSize / 2}
 * @param textBoost        {@code log_text_attention_weights}: added to every query-to-text score (1.4 without
 *                         guidance, 0 with it). As in the original, the uncached pass adds it in the spatial channel
 *                         only, cached steps in both channels
 * @param imageMode        {@code enforce_no_swin}: the temporal channel is off (CogView2's first-frame mode)
 * @param limitedBaseCache {@code limited_spatial_channel_mem}: the spatial-channel cache keeps only text and the
 *                         current frame (that channel never looks further back), saving memory
 */
public record SequenceOptions(int stage, int windowSize, float textBoost, boolean imageMode, boolean limitedBaseCache) {

    public SequenceOptions {
        if (stage != 1 && stage != 2) {
            throw new CogVideoException("stage must be 1 or 2, got " + stage);
        }
        if (stage == 2 && windowSize < 2) {
            throw new CogVideoException("stage-2 window size must be >= 2, got " + windowSize);
        }
        if (!Float.isFinite(textBoost)) {
            throw new CogVideoException("textBoost must be finite, got " + textBoost);
        }
        if (imageMode && stage != 1) {
            throw new CogVideoException("image mode (first frame) exists only for stage 1");
        }
    }

    /** Stage 1, full causal temporal channel. */
    public static SequenceOptions stage1(float textBoost, boolean limitedBaseCache) {
        return new SequenceOptions(1, -1, textBoost, false, limitedBaseCache);
    }

    /** The first frame: image mode, no temporal channel. */
    public static SequenceOptions firstFrame(float textBoost) {
        return new SequenceOptions(1, -1, textBoost, true, false);
    }

    /** Stage 2 interpolation with the given window (10 in the released model). */
    public static SequenceOptions stage2(int windowSize, float textBoost) {
        return new SequenceOptions(2, windowSize, textBoost, false, true);
    }
}
