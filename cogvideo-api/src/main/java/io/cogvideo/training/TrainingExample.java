package io.cogvideo.training;

import io.cogvideo.CogVideoException;

/**
 * One training row in the layout of the original {@code pretrain_cogvideo.py} {@code get_batch}, after the one-token
 * shift: {@code inputIds[i]} predicts {@code labels[i]}, weighted by {@code lossMask[i]}. Built by
 * {@link TrainingLayout}; immutable (arrays are copied in and out).
 *
 * @param stage       {@link #IMAGE_MODE} 0 (the image model, CogView2's role: one frame, loss on all its tokens,
 *                    attention-plus off, as the first frame is generated), 1 (key frames: loss on frames 1..F-1) or
 *                    2 (interpolation: loss on the odd frames)
 * @param inputIds    [L] token ids, {@code L = textSlots + frameCount * frameLength} (2064); {@code <start_of_image>}
 *                    at every frame start {@code textSlots + k * frameLength}
 * @param labels      [L] the next token of the raw sequence ({@code raw[1:]})
 * @param lossMask    [L] 1 where {@code labels[i]} is trained, else 0 (the original's mask shifted by one)
 * @param positionIds [L] pads 0, text {@code 0..T-1} in slots {@code textPadding..textSlots-1}, frame tokens
 *                    {@code 512 + (i - textSlots)} (temporal order)
 * @param textPadding number of left {@code <pad>} slots of the text region (masked out as attention keys)
 */
public record TrainingExample(int stage, int[] inputIds, int[] labels, float[] lossMask, int[] positionIds,
        int textPadding) {
    /** The stage number of image-mode rows (the image model: text, {@code <start_of_image>}, one frame). */
    public static final int IMAGE_MODE = 0;

    public TrainingExample {
        if (stage != IMAGE_MODE && stage != 1 && stage != 2) {
            throw new CogVideoException("training example: stage = " + stage + " is invalid; allowed: 0 (image mode),"
                    + " 1 or 2");
        }
        if (inputIds == null || labels == null || lossMask == null || positionIds == null) {
            throw new CogVideoException("training example: inputIds, labels, lossMask and positionIds are required");
        }
        int n = inputIds.length;
        if (labels.length != n || lossMask.length != n || positionIds.length != n) {
            throw new CogVideoException("training example: lengths differ: inputIds " + n + ", labels "
                    + labels.length + ", lossMask " + lossMask.length + ", positionIds " + positionIds.length);
        }
        if (textPadding < 0 || textPadding > n) {
            throw new CogVideoException("training example: textPadding = " + textPadding + " is invalid; allowed: [0, "
                    + n + "]");
        }
        inputIds = inputIds.clone();
        labels = labels.clone();
        lossMask = lossMask.clone();
        positionIds = positionIds.clone();
    }

    /** [L] input token ids (a copy). */
    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    /** [L] label token ids (a copy). */
    @Override
    public int[] labels() {
        return labels.clone();
    }

    /** [L] loss weights (a copy). */
    @Override
    public float[] lossMask() {
        return lossMask.clone();
    }

    /** [L] position ids (a copy). */
    @Override
    public int[] positionIds() {
        return positionIds.clone();
    }

    /** Sequence length {@code L}. */
    public int length() {
        return inputIds.length;
    }

    /** Sum of the loss mask: the number of trained label positions. */
    public double lossTokens() {
        double s = 0;
        for (float m : lossMask) {
            s += m;
        }
        return s;
    }

    /** Input and label ids and masks compared by content. */
    @Override
    public boolean equals(Object o) {
        return o instanceof TrainingExample e && e.stage == stage && e.textPadding == textPadding
                && java.util.Arrays.equals(e.inputIds, inputIds) && java.util.Arrays.equals(e.labels, labels)
                && java.util.Arrays.equals(e.lossMask, lossMask) && java.util.Arrays.equals(e.positionIds, positionIds);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(stage, textPadding, java.util.Arrays.hashCode(inputIds),
                java.util.Arrays.hashCode(labels));
    }

    @Override
    public String toString() {
        return "TrainingExample[stage=" + stage + ", length=" + inputIds.length + ", textPadding=" + textPadding
                + ", lossTokens=" + (long) lossTokens() + "]";
    }
}
