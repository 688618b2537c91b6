package io.cogvideo.training;

import io.cogvideo.CogVideoException;

/**
 * One row of a training batch in the original's training layout ({@code pretrain_cogvideo.py} {@code get_batch}):
 * {@code layout[0]} text slots left-padded with {@code <pad>}, then the frames in temporal order, each block starting
 * with {@code <start_of_image>}. All arrays have the sequence length (2064 at the released layout).
 *
 * @param stage       1 (sequential frames) or 2 (interpolation: frames 0, 2, 4 given, 1 and 3 trained)
 * @param inputIds    token ids fed to the model ({@code raw[:-1]} with {@code <start_of_image>} at every frame start)
 * @param labels      the next token of every input position ({@code raw[1:]}); only the frame positions are read
 * @param lossMask    the weight of each label (1 on the trained frames, 0 elsewhere), after the one-position shift
 * @param positionIds position ids: pads 0, text 0.., frame {@code k} from {@code 512 + 400 k}
 * @param textPadding leading {@code <pad>} slots of the text region, hidden from every query
 */
public record TrainingExample(int stage, int[] inputIds, int[] labels, float[] lossMask, int[] positionIds,
        int textPadding) {

    public TrainingExample {
        if (stage != 1 && stage != 2) {
            throw new CogVideoException("training stage must be 1 or 2, got " + stage);
        }
        if (inputIds == null || labels == null || lossMask == null || positionIds == null) {
            throw new CogVideoException("inputIds, labels, lossMask and positionIds must not be null");
        }
        int n = inputIds.length;
        if (labels.length != n || lossMask.length != n || positionIds.length != n) {
            throw new CogVideoException("inputIds (" + n + "), labels (" + labels.length + "), lossMask ("
                    + lossMask.length + ") and positionIds (" + positionIds.length + ") must have the same length");
        }
        if (textPadding < 0 || textPadding > n) {
            throw new CogVideoException("textPadding must be in [0, " + n + "], got " + textPadding);
        }
        inputIds = inputIds.clone();
        labels = labels.clone();
        lossMask = lossMask.clone();
        positionIds = positionIds.clone();
    }

    /** Sequence length. */
    public int length() {
        return inputIds.length;
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    @Override
    public int[] labels() {
        return labels.clone();
    }

    @Override
    public float[] lossMask() {
        return lossMask.clone();
    }

    @Override
    public int[] positionIds() {
        return positionIds.clone();
    }
}
