package io.cogvideo.model;

import io.cogvideo.CogVideoException;
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
        if (numLayers < 1 || hiddenSize < 1 || numHeads < 1 || vocabSize < 1) {
            throw new CogVideoException("DSR config: layers " + numLayers + ", hidden_size " + hiddenSize + ", heads "
                    + numHeads + " and vocab_size " + vocabSize + " must all be >= 1");
        }
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

    /**
     * Reads CogView2's DSR {@code model_config.json} (as a parsed map), every field typed and range-checked.
     *
     * @throws CogVideoException naming the field, the value found and the allowed range
     */
    public static DsrConfig fromSatConfig(Map<String, ?> config) {
        SatConfigFields f = new SatConfigFields("DSR config", config);
        String order = f.string("layernorm_order", "sandwich");
        if (!order.equals("sandwich")) {
            throw new CogVideoException("DSR config: layernorm_order '" + order + "' is not supported (sandwich)");
        }
        int[] lay = f.integers("layout", 3, new int[] {96, 496, 4096}, 0, SatConfigFields.MAX_POSITIONS);
        if (!(lay[0] < lay[1] && lay[1] < lay[2])) {
            throw new CogVideoException("DSR config: 'layout' = " + java.util.Arrays.toString(lay)
                    + " must be increasing");
        }
        int maxSeq = f.integer("max_sequence_length", 1024, 1, SatConfigFields.MAX_POSITIONS);
        int newSeq = f.integer("new_sequence_length", 4624, 1, SatConfigFields.MAX_POSITIONS);
        if (newSeq < maxSeq) {
            throw new CogVideoException("DSR config: 'new_sequence_length' = " + newSeq
                    + " is below 'max_sequence_length' = " + maxSeq);
        }
        int vocab = f.integer("vocab_size", 1, SatConfigFields.MAX_VOCAB);
        return new DsrConfig(f.integer("num_layers", 1, SatConfigFields.MAX_LAYERS),
                f.integer("hidden_size", 1, SatConfigFields.MAX_HIDDEN),
                f.integer("num_attention_heads", 1, SatConfigFields.MAX_HIDDEN), vocab, maxSeq, newSeq - maxSeq,
                lay[0], lay[1] - lay[0], lay[2] - lay[1], f.integer("kernel_size", 5, 1, 1024),
                f.integer("kernel_size2", 5, 1, 1024), Math.min(CogVideoConfig.ICETK_IMAGE_TOKENS, vocab), 1e-5f);
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
