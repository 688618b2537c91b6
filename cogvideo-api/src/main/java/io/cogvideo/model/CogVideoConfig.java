package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import java.util.Map;

/**
 * Architecture of a CogVideo stage model, as written by SwissArmyTransformer into {@code model_config.json}.
 * Immutable; nothing here assumes the released sizes (48 layers, hidden 3072, 48 heads, vocabulary 150010).
 *
 * @param numLayers         transformer layers
 * @param hiddenSize        model width
 * @param numHeads          attention heads ({@code hiddenSize % numHeads == 0})
 * @param vocabSize         rows of the word-embedding table
 * @param maxSequenceLength rows of the base position table (1024 in CogView2)
 * @param additionalSeqLen  rows of the extra position table (2000)
 * @param textSlots         {@code layout[0]}: text region of the training layout (64)
 * @param frameLength       tokens per frame, {@code layout[1] - layout[0]} (400)
 * @param frameCount        frames per sequence, {@code (layout[2] - layout[0]) / frameLength} (5)
 * @param windowSize        temporal-channel window of the checkpoint config ({@code -1}: full attention)
 * @param stage             {@code cogvideo_stage} of the config (1 or 2)
 * @param imageVocabSize    image tokens, the rows of the tied output head (20000 for icetk)
 * @param layerNormEps      LayerNorm epsilon (1e-5)
 */
public record CogVideoConfig(
        int numLayers,
        int hiddenSize,
        int numHeads,
        int vocabSize,
        int maxSequenceLength,
        int additionalSeqLen,
        int textSlots,
        int frameLength,
        int frameCount,
        int windowSize,
        int stage,
        int imageVocabSize,
        float layerNormEps) {

    /** icetk's image-token count: ids below it are VQ codes. */
    public static final int ICETK_IMAGE_TOKENS = 20000;
    /** Position id of the first token of frame 0 (CogView2's image positions start at 512). */
    public static final int FRAME_POSITION_BASE = 512;

    public CogVideoConfig {
        require(numLayers >= 1, "num_layers", numLayers, ">= 1");
        require(hiddenSize >= 1, "hidden_size", hiddenSize, ">= 1");
        require(numHeads >= 1 && hiddenSize % numHeads == 0, "num_attention_heads", numHeads,
                "a divisor of hidden_size " + hiddenSize);
        require(imageVocabSize >= 1 && imageVocabSize <= vocabSize, "image vocabulary", imageVocabSize,
                "[1, vocab_size=" + vocabSize + "]");
        int grid = (int) Math.round(Math.sqrt(frameLength));
        require(frameLength >= 1 && grid * grid == frameLength, "frame length (layout[1]-layout[0])", frameLength,
                "a perfect square");
        require(frameCount >= 1, "frames ((layout[2]-layout[0])/frame length)", frameCount, ">= 1");
        require(maxSequenceLength >= FRAME_POSITION_BASE + (long) frameLength, "max_sequence_length",
                maxSequenceLength, ">= " + (FRAME_POSITION_BASE + (long) frameLength));
        long extraNeeded = (long) (frameCount - 1) * frameLength;
        require(additionalSeqLen >= extraNeeded, "additional_seqlen", additionalSeqLen, ">= " + extraNeeded);
    }

    private static void require(boolean ok, String what, int value, String allowed) {
        if (!ok) {
            throw new CogVideoException("model config: " + what + " = " + value + " is invalid; allowed: " + allowed);
        }
    }

    /** Per-head width. */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Tokens per frame row ({@code sqrt(frameLength)}, 20). */
    public int frameGrid() {
        return (int) Math.round(Math.sqrt(frameLength));
    }

    /** First position id served by the extra position table ({@code 512 + frameLength} = 912). */
    public int extraPositionStart() {
        return FRAME_POSITION_BASE + frameLength;
    }

    /**
     * Reads a SwissArmyTransformer {@code model_config.json} (as a parsed map). Only the sandwich LayerNorm order of
     * CogVideo is supported. Every field is typed: integers must be JSON integers within their range (compared
     * before conversion: no wrap-around, no truncation of fractions), {@code layout} a list of three integers.
     *
     * @throws CogVideoException naming the field, the value found and the allowed range
     */
    public static CogVideoConfig fromSatConfig(Map<String, ?> config) {
        SatConfigFields f = new SatConfigFields("model config", config);
        String order = f.string("layernorm_order", "sandwich");
        if (!order.equals("sandwich")) {
            throw new CogVideoException("model config: layernorm_order = '" + order
                    + "' is not supported; CogVideo checkpoints use 'sandwich'");
        }
        int[] lay = f.integers("layout", 3, new int[] {64, 464, 2064}, 0, SatConfigFields.MAX_POSITIONS);
        if (!(lay[0] < lay[1] && lay[1] < lay[2])) {
            throw new CogVideoException("model config: 'layout' = " + java.util.Arrays.toString(lay)
                    + " must be increasing (text slots < end of frame 0 < end of sequence)");
        }
        int frameLength = lay[1] - lay[0];
        int frames = (lay[2] - lay[0]) / frameLength;
        int vocab = f.integer("vocab_size", 1, SatConfigFields.MAX_VOCAB);
        return new CogVideoConfig(
                f.integer("num_layers", 1, SatConfigFields.MAX_LAYERS),
                f.integer("hidden_size", 1, SatConfigFields.MAX_HIDDEN),
                f.integer("num_attention_heads", 1, SatConfigFields.MAX_HIDDEN),
                vocab,
                f.integer("max_sequence_length", 1024, 1, SatConfigFields.MAX_POSITIONS),
                f.integer("additional_seqlen", 2000, 0, SatConfigFields.MAX_POSITIONS),
                lay[0],
                frameLength,
                frames,
                f.integer("window_size", -1, -1, SatConfigFields.MAX_POSITIONS),
                f.integer("cogvideo_stage", 1, 1, 2),
                f.integer("image_vocab_size", Math.min(ICETK_IMAGE_TOKENS, vocab), 1, vocab),
                1e-5f);
    }

    /** Parameter count of one stage model (embeddings, both attention channels, MLPs, norms). */
    public long parameterCount() {
        long h = hiddenSize;
        long perLayer = (3 * h * h + 3 * h) + (h * h + h) + (4 * h * h + 4 * h) + (4 * h * h + h) + 8 * h;
        long plus = (3 * h * h + 3 * h) + (h * h + h) + h;
        return (long) vocabSize * h + (long) maxSequenceLength * h + (long) additionalSeqLen * h
                + numLayers * (perLayer + plus) + 2 * h;
    }
}
