package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import java.util.List;
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
        require(maxSequenceLength >= FRAME_POSITION_BASE + frameLength, "max_sequence_length", maxSequenceLength,
                ">= " + (FRAME_POSITION_BASE + frameLength));
        require(additionalSeqLen >= (frameCount - 1) * frameLength, "additional_seqlen", additionalSeqLen,
                ">= " + (frameCount - 1) * frameLength);
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
     * CogVideo is supported.
     */
    public static CogVideoConfig fromSatConfig(Map<String, ?> config) {
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) config;
        String order = String.valueOf(c.getOrDefault("layernorm_order", "sandwich"));
        if (!order.equals("sandwich")) {
            throw new CogVideoException("model config: layernorm_order = '" + order
                    + "' is not supported; CogVideo checkpoints use 'sandwich'");
        }
        List<?> layout = (List<?>) c.get("layout");
        int[] lay;
        if (layout == null) {
            lay = new int[] {64, 464, 2064};
        } else if (layout.size() == 3) {
            lay = new int[] {num(layout.get(0), "layout[0]"), num(layout.get(1), "layout[1]"),
                num(layout.get(2), "layout[2]")};
        } else {
            throw new CogVideoException("model config: layout = " + layout + " must have 3 entries");
        }
        int frameLength = lay[1] - lay[0];
        int frames = frameLength > 0 ? (lay[2] - lay[0]) / frameLength : 0;
        int vocab = num(c.get("vocab_size"), "vocab_size");
        Object imageVocab = c.get("image_vocab_size");
        return new CogVideoConfig(
                num(c.get("num_layers"), "num_layers"),
                num(c.get("hidden_size"), "hidden_size"),
                num(c.get("num_attention_heads"), "num_attention_heads"),
                vocab,
                num(c.getOrDefault("max_sequence_length", 1024), "max_sequence_length"),
                num(c.getOrDefault("additional_seqlen", 2000), "additional_seqlen"),
                lay[0],
                frameLength,
                frames,
                num(c.getOrDefault("window_size", -1), "window_size"),
                num(c.getOrDefault("cogvideo_stage", 1), "cogvideo_stage"),
                imageVocab == null ? Math.min(ICETK_IMAGE_TOKENS, vocab) : num(imageVocab, "image_vocab_size"),
                1e-5f);
    }

    private static int num(Object o, String key) {
        if (o instanceof Number n) {
            return n.intValue();
        }
        if (o instanceof String s) {
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw new CogVideoException("model config: '" + key + "' must be a number, got " + o);
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
