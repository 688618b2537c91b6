package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import java.util.List;
import java.util.Map;

/**
 * Architecture of CogView2's direct super-resolution model ({@code DsrModel}), as in its {@code model_config.json}.
 * The sequence is {@code [text slots (left-padded) ; low-res tokens ; high-res tokens]}.
 *
 * @param numLayers         transformer layers
 * @param hiddenSize        width
 * @param numHeads          heads
 * @param vocabSize         word-embedding rows
 * @param maxSequenceLength base position table rows (1024); high-res position {@code p} uses extra row {@code p - 1024}
 * @param extraPositions    extra position table rows ({@code new_sequence_length - max_sequence_length}, 3600)
 * @param textSlots         {@code layout[0]} (96)
 * @param lowResTokens      {@code layout[1] - layout[0]} (400, a 20x20 raster)
 * @param highResTokens     {@code layout[2] - layout[1]} (3600, a 60x60 raster)
 * @param kernelSize        {@code kernel_size}: the fine neighbourhood is {@code (2k-1) x k} (9x5)
 * @param kernelSize2       {@code kernel_size2}: the coarse neighbourhood is {@code k2 x k2} (5x5)
 * @param imageVocabSize    rows of the tied output head (20000)
 * @param layerNormEps      1e-5
 */
public record DsrConfig(int numLayers, int hiddenSize, int numHeads, int vocabSize, int maxSequenceLength,
        int extraPositions, int textSlots, int lowResTokens, int highResTokens, int kernelSize, int kernelSize2,
        int imageVocabSize, float layerNormEps) {

    /** Position id of the first low-res token (CogView2's DSR layout uses 513). */
    public static final int LOW_RES_POSITION_BASE = 513;

    public DsrConfig {
        if (hiddenSize % numHeads != 0) {
            throw new CogVideoException("DSR config: hidden_size " + hiddenSize + " is not divisible by "
                    + numHeads + " heads");
        }
        if (grid(lowResTokens) < 0 || grid(highResTokens) < 0 || grid(highResTokens) % grid(lowResTokens) != 0) {
            throw new CogVideoException("DSR config: layout gives " + lowResTokens + " low-res and " + highResTokens
                    + " high-res tokens; both must be squares, the high-res edge a multiple of the low-res edge");
        }
        if (extraPositions < highResTokens) {
            throw new CogVideoException("DSR config: new_sequence_length - max_sequence_length = " + extraPositions
                    + " must be >= " + highResTokens);
        }
    }

    private static int grid(int n) {
        int g = (int) Math.round(Math.sqrt(n));
        return g * g == n && n > 0 ? g : -1;
    }

    public int lowResGrid() {
        return grid(lowResTokens);
    }

    public int highResGrid() {
        return grid(highResTokens);
    }

    /** Length of the model input (text slots + low-res + high-res). */
    public int sequenceLength() {
        return textSlots + lowResTokens + highResTokens;
    }

    @SuppressWarnings("unchecked")
    public static DsrConfig fromSatConfig(Map<String, ?> config) {
        Map<String, Object> c = (Map<String, Object>) config;
        String order = String.valueOf(c.getOrDefault("layernorm_order", "sandwich"));
        if (!order.equals("sandwich")) {
            throw new CogVideoException("DSR config: layernorm_order '" + order + "' is not supported (sandwich)");
        }
        List<?> layout = (List<?>) c.getOrDefault("layout", List.of(96, 496, 4096));
        if (layout.size() != 3) {
            throw new CogVideoException("DSR config: layout must have 3 entries, got " + layout);
        }
        int l0 = ((Number) layout.get(0)).intValue();
        int l1 = ((Number) layout.get(1)).intValue();
        int l2 = ((Number) layout.get(2)).intValue();
        int maxSeq = ((Number) c.getOrDefault("max_sequence_length", 1024)).intValue();
        int newSeq = ((Number) c.getOrDefault("new_sequence_length", 4624)).intValue();
        int vocab = ((Number) c.get("vocab_size")).intValue();
        return new DsrConfig(((Number) c.get("num_layers")).intValue(), ((Number) c.get("hidden_size")).intValue(),
                ((Number) c.get("num_attention_heads")).intValue(), vocab, maxSeq, newSeq - maxSeq, l0, l1 - l0,
                l2 - l1, ((Number) c.getOrDefault("kernel_size", 5)).intValue(),
                ((Number) c.getOrDefault("kernel_size2", 5)).intValue(),
                Math.min(CogVideoConfig.ICETK_IMAGE_TOKENS, vocab), 1e-5f);
    }

    /** Position ids of the DSR input: pads 0, text 0.., low-res 513.., high-res {@code maxSequenceLength}... */
    public int[] positions(int textPadding) {
        int[] p = new int[sequenceLength()];
        for (int i = 0; i < textSlots; i++) {
            p[i] = i < textPadding ? 0 : i - textPadding;
        }
        for (int i = 0; i < lowResTokens; i++) {
            p[textSlots + i] = LOW_RES_POSITION_BASE + i;
        }
        for (int i = 0; i < highResTokens; i++) {
            p[textSlots + lowResTokens + i] = maxSequenceLength + i;
        }
        return p;
    }
}
