package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoConfig;
import java.util.Arrays;

/**
 * Builds {@link TrainingExample}s exactly as the original {@code pretrain_cogvideo.py} does
 * ({@code create_dataset_function.process_fn} then {@code get_batch}, spec §1.3-1.4 and §2.6), with the sizes of any
 * model config instead of the constants {@code 64 / 400 / 5}:
 *
 * <pre>
 * binary row  = text region (textSlots: [&lt;pad&gt;] D &lt;n&gt; caption &lt;pad&gt;...) + F0 .. F(F-1) (frameLength each)
 * process_fn  : text = every non-&lt;pad&gt; token of the text region (the leading and inner pads dropped)
 *               raw  = [&lt;pad&gt;] * (textSlots - |text|) + text + [&lt;start_of_image&gt;] + frames   (L + 1 tokens)
 * get_batch   : input = raw[:-1], input[textSlots + k * frameLength] = &lt;start_of_image&gt; (k = 0..F-1)
 *               label = raw[1:], lossMask = mask[1:]
 *               stage 1: label positions of frames 1..F-1; stage 2: of the odd frames between two given ones (1, 3)
 * positions   : pads 0, text 0..T-1, frame token j of frame k: 512 + k * frameLength + j (temporal order)
 * </pre>
 *
 * @param textSlots      {@code layout[0]}, the text region (64)
 * @param frameLength    tokens per frame, {@code grid^2} (400)
 * @param frameCount     frames per sequence (5)
 * @param padId          {@code <pad>} (20003 in icetk)
 * @param startOfImageId {@code <start_of_image>} (150000 in icetk; 20090 in the tiny golden vocabulary)
 */
public record TrainingLayout(int textSlots, int frameLength, int frameCount, int padId, int startOfImageId) {
    /** icetk's {@code <pad>}. */
    public static final int ICETK_PAD = 20003;
    /** icetk's {@code <start_of_image>} (added at runtime as text piece 130000). */
    public static final int ICETK_START_OF_IMAGE = 150000;

    public TrainingLayout {
        if (textSlots < 1) {
            throw new CogVideoException("training layout: textSlots = " + textSlots + " is invalid; allowed: >= 1");
        }
        if (frameLength < 1) {
            throw new CogVideoException("training layout: frameLength = " + frameLength + " is invalid; allowed: >= 1");
        }
        if (frameCount < 2) {
            throw new CogVideoException("training layout: frameCount = " + frameCount
                    + " is invalid; allowed: >= 2 (frame 0 is never trained)");
        }
        if (padId == startOfImageId) {
            throw new CogVideoException("training layout: <pad> and <start_of_image> share id " + padId);
        }
    }

    /** Length {@code L} of a binary data row and of a training example ({@code layout[2]}, 2064). */
    public int sequenceLength() {
        return textSlots + frameCount * frameLength;
    }

    /** Input index of frame {@code k}'s block: its {@code <start_of_image>} slot ({@code textSlots + k * frameLength}). */
    public int frameStart(int k) {
        checkFrame(k);
        return textSlots + k * frameLength;
    }

    /** The frames whose tokens carry loss in {@code stage}: 1..F-1 (stage 1), the odd frames 1, 3, .. below F-1 (stage 2). */
    public int[] lossFrames(int stage) {
        checkStage(stage);
        if (stage == 1) {
            int[] out = new int[frameCount - 1];
            for (int k = 1; k < frameCount; k++) {
                out[k - 1] = k;
            }
            return out;
        }
        int[] out = new int[(frameCount - 1) / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = 2 * i + 1;
        }
        if (out.length == 0) {
            throw new CogVideoException("training layout: stage 2 needs >= 3 frames (a target between two given"
                    + " frames); this layout has " + frameCount);
        }
        return out;
    }

    /** The frames given as conditioning in {@code stage} (0 in stage 1; the even frames in stage 2). */
    public int[] givenFrames(int stage) {
        int[] loss = lossFrames(stage);
        int[] out = new int[frameCount - loss.length];
        int n = 0;
        for (int k = 0; k < frameCount; k++) {
            if (Arrays.binarySearch(loss, k) < 0) {
                out[n++] = k;
            }
        }
        return out;
    }

    /**
     * One row of the original binary data file as {@code process_fn} reads it: the text region (any {@code <pad>}
     * in it is dropped) and the frames.
     *
     * @param row   [L] {@code textSlots} text slots then {@code frameCount * frameLength} image tokens
     * @param stage 1 or 2
     */
    public TrainingExample fromRawRow(int[] row, int stage) {
        if (row == null || row.length != sequenceLength()) {
            throw new CogVideoException("training layout: a data row must have " + sequenceLength() + " tokens ("
                    + textSlots + " text slots + " + frameCount + " x " + frameLength + " frame tokens), got "
                    + (row == null ? "null" : row.length));
        }
        int[] text = Arrays.stream(row, 0, textSlots).filter(t -> t != padId).toArray();
        return assemble(text, Arrays.copyOfRange(row, textSlots, row.length), stage);
    }

    /**
     * An example from its parts.
     *
     * @param text   duration prefix, {@code <n>} and caption ids; {@code <pad>}s are dropped as {@code process_fn}
     *               drops them; at most {@code textSlots} remain
     * @param frames [frameCount][frameLength] image token ids, in temporal order
     * @param stage  1 or 2
     */
    public TrainingExample build(int[] text, int[][] frames, int stage) {
        int[] kept = Arrays.stream(text).filter(t -> t != padId).toArray();
        if (kept.length > textSlots) {
            throw new CogVideoException("training layout: text has " + kept.length + " tokens; at most " + textSlots
                    + " fit the text region (truncate the caption)");
        }
        return assemble(kept, flattenFrames(frames), stage);
    }

    /**
     * An image-mode example (stage {@link TrainingExample#IMAGE_MODE}, the image model's training row, as CogView2
     * trains and as the first frame is generated): {@code textSlots + frameLength} tokens,
     *
     * <pre>
     * raw   = [&lt;pad&gt;] * (textSlots - |text|) + text + [&lt;start_of_image&gt;] + frame      (textSlots + frameLength + 1)
     * input = raw[:-1], label = raw[1:], loss on every token of the frame (label positions textSlots ..)
     * positions: pads 0, text 0..T-1, frame token j: 512 + j
     * </pre>
     *
     * @param text  caption ids (e.g. {@code caption + " 高清摄影"}, no duration prefix); {@code <pad>}s are dropped
     * @param frame [frameLength] image token ids
     */
    public TrainingExample imageExample(int[] text, int[] frame) {
        int[] kept = Arrays.stream(text).filter(t -> t != padId).toArray();
        if (kept.length > textSlots) {
            throw new CogVideoException("training layout: text has " + kept.length + " tokens; at most " + textSlots
                    + " fit the text region (truncate the caption)");
        }
        if (frame == null || frame.length != frameLength) {
            throw new CogVideoException("training layout: the image frame has "
                    + (frame == null ? "no" : String.valueOf(frame.length)) + " tokens; expected " + frameLength);
        }
        int len = textSlots + frameLength;
        int nPad = textSlots - kept.length;
        int[] raw = new int[len + 1];
        Arrays.fill(raw, 0, nPad, padId);
        System.arraycopy(kept, 0, raw, nPad, kept.length);
        raw[textSlots] = startOfImageId;
        System.arraycopy(frame, 0, raw, textSlots + 1, frameLength);
        int[] input = Arrays.copyOf(raw, len);
        int[] labels = Arrays.copyOfRange(raw, 1, len + 1);
        float[] mask = new float[len];
        Arrays.fill(mask, textSlots, len, 1f);
        int[] pos = new int[len];
        for (int i = nPad; i < textSlots; i++) {
            pos[i] = i - nPad;
        }
        for (int i = textSlots; i < len; i++) {
            pos[i] = CogVideoConfig.FRAME_POSITION_BASE + (i - textSlots);
        }
        return new TrainingExample(TrainingExample.IMAGE_MODE, input, labels, mask, pos, nPad);
    }

    /**
     * The binary data row for {@code text} and {@code frames}, as the original data files store it: a leading
     * {@code <pad>} when the text does not fill the region, the text, trailing pads, then the frames.
     */
    public int[] rawRow(int[] text, int[][] frames) {
        int[] kept = Arrays.stream(text).filter(t -> t != padId).toArray();
        if (kept.length > textSlots) {
            throw new CogVideoException("training layout: text has " + kept.length + " tokens; at most " + textSlots
                    + " fit the text region");
        }
        int[] row = new int[sequenceLength()];
        Arrays.fill(row, 0, textSlots, padId);
        System.arraycopy(kept, 0, row, kept.length < textSlots ? 1 : 0, kept.length);
        int[] flat = flattenFrames(frames);
        System.arraycopy(flat, 0, row, textSlots, flat.length);
        return row;
    }

    /** [textSlots] the original {@code attention_mask_totxt} of an example: 0 for pad keys, 1 for real text. */
    public float[] attentionMaskToText(TrainingExample e) {
        if (e.length() != sequenceLength()) {
            throw new CogVideoException("training layout: example length " + e.length() + " is not this layout's "
                    + sequenceLength());
        }
        float[] m = new float[textSlots];
        Arrays.fill(m, Math.min(e.textPadding(), textSlots), textSlots, 1f);
        return m;
    }

    private int[] flattenFrames(int[][] frames) {
        if (frames == null || frames.length != frameCount) {
            throw new CogVideoException("training layout: expected " + frameCount + " frames, got "
                    + (frames == null ? "null" : frames.length));
        }
        int[] flat = new int[frameCount * frameLength];
        for (int k = 0; k < frameCount; k++) {
            if (frames[k] == null || frames[k].length != frameLength) {
                throw new CogVideoException("training layout: frame " + k + " has "
                        + (frames[k] == null ? "no" : String.valueOf(frames[k].length)) + " tokens; expected "
                        + frameLength);
            }
            System.arraycopy(frames[k], 0, flat, k * frameLength, frameLength);
        }
        return flat;
    }

    private TrainingExample assemble(int[] text, int[] frames, int stage) {
        checkStage(stage);
        int len = sequenceLength();
        int nPad = textSlots - text.length;
        // raw: [L + 1] = pads, text, <start_of_image>, frames
        int[] raw = new int[len + 1];
        Arrays.fill(raw, 0, nPad, padId);
        System.arraycopy(text, 0, raw, nPad, text.length);
        raw[textSlots] = startOfImageId;
        System.arraycopy(frames, 0, raw, textSlots + 1, frames.length);
        int[] input = Arrays.copyOf(raw, len);
        int[] labels = Arrays.copyOfRange(raw, 1, len + 1);
        for (int k = 0; k < frameCount; k++) {
            input[textSlots + k * frameLength] = startOfImageId;
        }
        float[] mask = new float[len];
        for (int k : lossFrames(stage)) {
            Arrays.fill(mask, textSlots + k * frameLength, textSlots + (k + 1) * frameLength, 1f);
        }
        int[] pos = new int[len];
        for (int i = nPad; i < textSlots; i++) {
            pos[i] = i - nPad;
        }
        for (int i = textSlots; i < len; i++) {
            pos[i] = CogVideoConfig.FRAME_POSITION_BASE + (i - textSlots);
        }
        return new TrainingExample(stage, input, labels, mask, pos, nPad);
    }

    private void checkFrame(int k) {
        if (k < 0 || k >= frameCount) {
            throw new CogVideoException("training layout: frame " + k + " is out of range [0, " + frameCount + ")");
        }
    }

    private static void checkStage(int stage) {
        if (stage != 1 && stage != 2) {
            throw new CogVideoException("training layout: stage = " + stage + " is invalid; allowed: 1 or 2");
        }
    }
}
