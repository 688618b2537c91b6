package io.cogvideo.examples.demo.recipe;

import io.cogvideo.CogVideoException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo transformer and its three training phases (docs/demo-model.md): geometry fixed by the demo world (12 x 12
 * = 144 tokens per frame, 512 image tokens, layout {@code [32, 176, 752]}, {@code max_sequence_length} 656,
 * {@code additional_seqlen} 576, stage-2 window 6), size and schedule chosen to fit the time budget.
 *
 * @param layers         transformer layers, {@code >= 1}
 * @param hidden         hidden size, a multiple of {@code heads}
 * @param heads          attention heads, {@code >= 1}
 * @param textVocabSize  text pieces of the text model (its specials included); text ids are
 *                       {@code [512, 512 + textVocabSize)}
 * @param padId          the text model's {@code <pad>} id (in the text range)
 * @param startOfImageId the text model's {@code <start_of_image>} id (in the text range)
 * @param seed           seed of the random initialisation, the data choices and the batches
 * @param image          the image model's phase (every parameter trained)
 * @param stage1         stage 1 (base frozen, attention-plus over 5 frames spanning 4 s)
 * @param stage2         stage 2 (base frozen, window 6, interpolation at 2, 1 and 0.5 s)
 * @param suffixFraction fraction of stage-1 rows whose caption ends with {@code " 视频"} (the text generation uses
 *                       under classifier-free guidance), in [0, 1]
 * @param uncondFraction fraction of stage-1 rows whose whole caption is {@code "视频"} (the guidance branch's text), in
 *                       [0, 1)
 */
public record RecipeConfig(int layers, int hidden, int heads, int textVocabSize, int padId, int startOfImageId,
        long seed, Phase image, Phase stage1, Phase stage2, double suffixFraction, double uncondFraction) {
    /** Image tokens (VQ-VAE codebook). */
    public static final int IMAGE_VOCAB = 512;
    /** Frame grid edge (96 px / 8). */
    public static final int GRID = 12;
    /** Tokens per frame. */
    public static final int FRAME_LENGTH = GRID * GRID;
    /** Text slots of the training layout ({@code layout[0]}). */
    public static final int TEXT_SLOTS = 32;
    /** Frames per sequence. */
    public static final int FRAMES = 5;
    /** Stage-2 window edge (odd layers shifted by 3). */
    public static final int WINDOW = 6;
    /** Base position table: 512 text positions plus frame 0. */
    public static final int MAX_SEQUENCE_LENGTH = 512 + FRAME_LENGTH;
    /** Extra position table: frames 1 to 4. */
    public static final int ADDITIONAL_SEQLEN = (FRAMES - 1) * FRAME_LENGTH;

    /**
     * One training phase.
     *
     * @param steps              optimizer updates, {@code >= 1}
     * @param batchSize          rows per update, {@code >= 1}
     * @param lr                 peak learning rate ({@code > 0}); warmup then cosine to 10%
     * @param warmupFraction     share of the steps spent warming up, in [0, 1]
     * @param clipNorm           global gradient-norm clip ({@code <= 0}: none)
     * @param evalFraction       share of the videos held out, in [0, 0.5]
     * @param evalInterval       updates between held-out evaluations, {@code >= 1}
     * @param checkpointInterval updates between checkpoints (resume points), {@code >= 1}
     */
    public record Phase(long steps, int batchSize, double lr, double warmupFraction, double clipNorm,
            double evalFraction, long evalInterval, long checkpointInterval) {
        public Phase {
            if (steps < 1) {
                throw new CogVideoException("recipe phase: steps = " + steps + " is invalid; allowed: >= 1");
            }
            if (batchSize < 1) {
                throw new CogVideoException("recipe phase: batchSize = " + batchSize + " is invalid; allowed: >= 1");
            }
            if (!(lr > 0)) {
                throw new CogVideoException("recipe phase: lr = " + lr + " is invalid; allowed: > 0");
            }
            if (checkpointInterval < 1) {
                throw new CogVideoException("recipe phase: checkpointInterval = " + checkpointInterval
                        + " is invalid; allowed: >= 1");
            }
        }

        /** This phase with {@code v} steps. */
        public Phase withSteps(long v) {
            return new Phase(v, batchSize, lr, warmupFraction, clipNorm, evalFraction, evalInterval,
                    checkpointInterval);
        }
    }

    public RecipeConfig {
        if (layers < 1) {
            throw new CogVideoException("recipe config: layers = " + layers + " is invalid; allowed: >= 1");
        }
        if (heads < 1 || hidden < heads || hidden % heads != 0) {
            throw new CogVideoException("recipe config: hidden = " + hidden + ", heads = " + heads
                    + " is invalid; allowed: heads >= 1 and hidden a positive multiple of heads");
        }
        if (textVocabSize < 3) {
            throw new CogVideoException("recipe config: textVocabSize = " + textVocabSize
                    + " is invalid; allowed: >= 3 (the pieces and the specials)");
        }
        for (int id : new int[] {padId, startOfImageId}) {
            if (id < IMAGE_VOCAB || id >= IMAGE_VOCAB + textVocabSize) {
                throw new CogVideoException("recipe config: special id " + id + " is outside the text ids ["
                        + IMAGE_VOCAB + ", " + (IMAGE_VOCAB + textVocabSize) + ")");
            }
        }
        if (padId == startOfImageId) {
            throw new CogVideoException("recipe config: <pad> and <start_of_image> share id " + padId);
        }
        if (image == null || stage1 == null || stage2 == null) {
            throw new CogVideoException("recipe config: the three phases are required");
        }
        if (!(suffixFraction >= 0 && suffixFraction <= 1)) {
            throw new CogVideoException("recipe config: suffixFraction = " + suffixFraction
                    + " is invalid; allowed: [0, 1]");
        }
        if (!(uncondFraction >= 0 && uncondFraction < 1)) {
            throw new CogVideoException("recipe config: uncondFraction = " + uncondFraction
                    + " is invalid; allowed: [0, 1)");
        }
    }

    /**
     * The demo's choice: 4 layers, hidden 128, 4 heads (about 0.9 M parameters + the tied embedding), sized on the
     * toy token world with the CPU backend, 2 threads, float32 weights, on the shared 2-core machine (seconds per
     * update measured with other jobs running): image model 1.3-1.6 s at batch 4 (176 tokens a row), stage 1 about
     * 7 s at batch 2 (752 tokens, full causal attention-plus), stage 2 about 4 s at batch 2 (window 6). Hence
     * 400 / 150 / 260 updates: about 10, 18 and 17 minutes. Peak rate 2e-3 (warmup 3%, cosine to 10%), clip 1.0 (the
     * original's 0.1 is for finetuning a converged model), 5% of the videos held out; half the stage-1 captions end
     * with {@code " 视频"}, 10% are the unconditional {@code "视频"}.
     */
    public static RecipeConfig defaults(int textVocabSize, int padId, int startOfImageId) {
        return new RecipeConfig(4, 128, 4, textVocabSize, padId, startOfImageId, 1234,
                new Phase(400, 4, 2e-3, 0.03, 1.0, 0.05, 50, 25),
                new Phase(150, 2, 2e-3, 0.03, 1.0, 0.05, 50, 25),
                new Phase(260, 2, 2e-3, 0.03, 1.0, 0.05, 50, 25),
                0.5, 0.1);
    }

    /** This config with other phases. */
    public RecipeConfig withPhases(Phase imagePhase, Phase stage1Phase, Phase stage2Phase) {
        return new RecipeConfig(layers, hidden, heads, textVocabSize, padId, startOfImageId, seed, imagePhase,
                stage1Phase, stage2Phase, suffixFraction, uncondFraction);
    }

    /** This config with another model size. */
    public RecipeConfig withSize(int numLayers, int hiddenSize, int numHeads) {
        return new RecipeConfig(numLayers, hiddenSize, numHeads, textVocabSize, padId, startOfImageId, seed, image,
                stage1, stage2, suffixFraction, uncondFraction);
    }

    /** Rows of the tied embedding: image tokens then text pieces. */
    public int vocabSize() {
        return IMAGE_VOCAB + textVocabSize;
    }

    /**
     * The {@code model_config.json} of a checkpoint of this model (SAT argument names, as {@code CogVideoConfig}
     * reads them).
     *
     * @param stage  1 or 2 ({@code cogvideo_stage})
     * @param window the attention-plus window ({@code -1}: full attention, stage 1 and the image model)
     */
    public Map<String, Object> modelConfig(int stage, int window) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("num_layers", layers);
        m.put("hidden_size", hidden);
        m.put("num_attention_heads", heads);
        m.put("vocab_size", vocabSize());
        m.put("image_vocab_size", IMAGE_VOCAB);
        m.put("max_sequence_length", MAX_SEQUENCE_LENGTH);
        m.put("additional_seqlen", ADDITIONAL_SEQLEN);
        m.put("layout", List.of(TEXT_SLOTS, TEXT_SLOTS + FRAME_LENGTH, TEXT_SLOTS + FRAMES * FRAME_LENGTH));
        m.put("window_size", window);
        m.put("cogvideo_stage", stage);
        m.put("layernorm_order", "sandwich");
        return m;
    }
}
