package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.LocalAttentionSpec;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.TensorScope;
import io.cogvideo.spi.WeightUse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CogView2's direct super-resolution model as CogVideo runs it ({@code sr_pipeline/dsr_model.py}): one uncached
 * pass over {@code [text ; 20x20 low-res tokens ; 60x60 high-res placeholders]} predicts all high-res tokens.
 *
 * <pre>
 * per layer: a = LN_in(x)
 *   text + low-res: base qkv/dense, attention with text bidirectional (pads hidden), low-res → text + low-res
 *   high-res:       plus qkv/dense, local attention: 5x5 low-res + 9x5 high-res neighbourhood, one softmax
 *   x = x + LN_3(concat);  x = x + LN_4(MLP(LN_post(x)))
 * logits = LN_final(x) · word_emb[:20000]ᵀ
 * </pre>
 * Immutable and thread-safe.
 */
public final class DsrModel {
    private final DsrConfig config;
    private final Backend backend;
    private final FusedAttention attn;
    private final LocalAttention localAttn;
    private final Tensor word;
    private final Tensor imageHead;
    private final Tensor positions;
    private final Tensor extraPositions;
    private final List<Layer> layers;
    private final Tensor finalNormW;
    private final Tensor finalNormB;

    /**
     * @param block      {@code transformer.layers.i.*}
     * @param plusQkvW   {@code mixins.attention_plus.query_key_value.i.weight} [3h, h] (high-res tokens)
     * @param plusDenseW {@code mixins.attention_plus.dense.i.weight} [h, h]
     */
    record Layer(Block block, Tensor plusQkvW, Tensor plusQkvB, Tensor plusDenseW, Tensor plusDenseB) {
    }

    private DsrModel(DsrConfig config, WeightSource src, Backend backend) {
        this.config = config;
        this.backend = backend;
        this.attn = OpPacks.require(backend, FusedAttention.class, "super-resolution (its low-resolution rows)");
        this.localAttn = OpPacks.require(backend, LocalAttention.class, "super-resolution");
        int h = config.hiddenSize();
        TensorData wordData = src.require("transformer.word_embeddings.weight", config.vocabSize(), h);
        word = backend.upload(wordData, WeightUse.GENERAL);
        imageHead = backend.upload(wordData.rows(0, config.imageVocabSize()), WeightUse.LINEAR);
        positions = backend.upload(src.require("transformer.position_embeddings.weight", config.maxSequenceLength(), h), WeightUse.GENERAL);
        extraPositions = backend.upload(src.require("mixins.extra_position_embedding.position_embeddings.weight",
                config.extraPositions(), h), WeightUse.GENERAL);
        List<Layer> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "mixins.attention_plus.";
            ls.add(new Layer(Block.load(src, backend, i, h),
                    backend.upload(src.require(p + "query_key_value." + i + ".weight", 3 * h, h), WeightUse.LINEAR),
                    backend.upload(src.require(p + "query_key_value." + i + ".bias", 3 * h), WeightUse.GENERAL),
                    backend.upload(src.require(p + "dense." + i + ".weight", h, h), WeightUse.LINEAR),
                    backend.upload(src.require(p + "dense." + i + ".bias", h), WeightUse.GENERAL)));
        }
        layers = List.copyOf(ls);
        finalNormW = backend.upload(src.require("transformer.final_layernorm.weight", h), WeightUse.GENERAL);
        finalNormB = backend.upload(src.require("transformer.final_layernorm.bias", h), WeightUse.GENERAL);
    }

    /** Builds the model from weights (shape-checked). */
    public static DsrModel of(DsrConfig config, WeightSource src, Backend backend) {
        return new DsrModel(config, src, backend);
    }

    /** Loads a {@code cogview2-dsr} checkpoint folder. */
    public static DsrModel load(Path dir, Backend backend) {
        try (SatCheckpoint ckpt = SatCheckpoint.open(dir)) {
            DsrConfig c = ckpt.parseConfig(DsrConfig::fromSatConfig);
            StateDict sd = ckpt.stateDict();
            return new DsrModel(c, sd::require, backend);
        }
    }

    public DsrConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * The uncached pass.
     *
     * @param tokens      [B][sequenceLength] ids: text slots (left padding first), low-res tokens, high-res slots
     * @param positionIds [sequenceLength] position ids ({@link DsrConfig#positions})
     * @param textPadding leading pad slots of the text region (hidden from every non-pad query)
     * @return final hidden states [B, sequenceLength, h] (after the final LayerNorm); see {@link #logits}
     */
    public Tensor forward(int[][] tokens, int[] positionIds, int textPadding) {
        DsrConfig c = config;
        int n = c.sequenceLength();
        int T = c.textSlots();
        int lo = c.lowResTokens();
        int hi = c.highResTokens();
        int h = c.hiddenSize();
        if (positionIds.length != n) {
            throw new CogVideoException("DSR input must have " + n + " positions, got " + positionIds.length);
        }
        if (textPadding < 0 || textPadding >= T) {
            throw new CogVideoException("DSR text padding must be in [0, " + T + "), got " + textPadding
                    + " (the text must be shorter than " + T + " tokens)");
        }
        int batch = tokens.length;
        int[] flat = new int[batch * n];
        for (int b = 0; b < batch; b++) {
            if (tokens[b].length != n) {
                throw new CogVideoException("DSR token row " + b + " has " + tokens[b].length + " ids, expected " + n);
            }
            for (int i = 0; i < n; i++) {
                int id = tokens[b][i];
                if (id < 0 || id >= c.vocabSize()) {
                    throw new CogVideoException("DSR token id " + id + " at " + i + " outside [0, " + c.vocabSize() + ")");
                }
                flat[b * n + i] = id;
            }
        }
        AttentionMask baseMask = AttentionMask.superResolutionBase(c.numHeads(), T, textPadding, c.lowResGrid());
        LocalAttentionSpec local = new LocalAttentionSpec(c.numHeads(), c.highResGrid(), c.lowResGrid(),
                2 * c.kernelSize() - 1, c.kernelSize(), c.kernelSize2(), c.kernelSize2(), 0f);
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = embed(flat, batch, positionIds);
            for (Layer w : layers) {
                x = layer(w, x, baseMask, local);
            }
            return scope.keep(backend.layerNorm(x, finalNormW, finalNormB, c.layerNormEps()));
        }
    }

    /** One layer: the low-res rows (text + coarse frame) in the base channel, the high-res rows in local attention. */
    private Tensor layer(Layer w, Tensor x, AttentionMask baseMask, LocalAttentionSpec local) {
        DsrConfig c = config;
        int T = c.textSlots();
        int lo = c.lowResTokens();
        int h = c.hiddenSize();
        try (TensorScope scope = TensorScope.open()) {
            scope.adopt(x);
            Tensor a = backend.layerNorm(x, w.block().inputNormW(), w.block().inputNormB(), c.layerNormEps());
            Tensor a0 = backend.slice(a, 1, 0, T + lo);
            Tensor a1 = backend.slice(a, 1, T + lo, c.highResTokens());
            Tensor qkv0 = backend.linear(a0, w.block().qkvW(), w.block().qkvB()); // [B, T+lo, 3h]
            Tensor k0 = backend.slice(qkv0, 2, h, h);
            Tensor v0 = backend.slice(qkv0, 2, 2 * h, h);
            Tensor ctx0 = attn.attention(backend.slice(qkv0, 2, 0, h), k0, v0, T + lo, baseMask);
            Tensor qkv1 = backend.linear(a1, w.plusQkvW(), w.plusQkvB()); // [B, hi, 3h]
            Tensor ctx1 = localAttn.localAttention(backend.slice(qkv1, 2, 0, h), backend.slice(qkv1, 2, h, h),
                    backend.slice(qkv1, 2, 2 * h, h), backend.slice(k0, 1, T, lo), backend.slice(v0, 1, T, lo),
                    local);
            Tensor out = backend.concat(1, backend.linear(ctx0, w.block().denseW(), w.block().denseB()),
                    backend.linear(ctx1, w.plusDenseW(), w.plusDenseB()));
            return scope.keep(w.block().residualTail(backend, x, out, c.layerNormEps()));
        }
    }

    /** Logits over the image vocabulary for rows {@code [from, from + count)} of {@link #forward}'s output. */
    public Tensor logits(Tensor hidden, int from, int count) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(backend.linear(backend.slice(hidden, 1, from, count), imageHead, null));
        }
    }

    private Tensor embed(int[] flat, int batch, int[] pos) {
        int n = pos.length;
        Tensor w = backend.gatherRows(word, flat, batch);
        int split = config.textSlots() + config.lowResTokens();
        int[] base = new int[split];
        int[] extra = new int[n - split];
        for (int i = 0; i < n; i++) {
            int p = pos[i];
            if (i < split) {
                if (p < 0 || p >= config.maxSequenceLength()) {
                    throw new CogVideoException("DSR position " + p + " at " + i + " outside [0, "
                            + config.maxSequenceLength() + ")");
                }
                base[i] = p;
            } else {
                int r = p - config.maxSequenceLength();
                if (r < 0 || r >= config.extraPositions()) {
                    throw new CogVideoException("DSR high-res position " + p + " at " + i + " outside ["
                            + config.maxSequenceLength() + ", " + (config.maxSequenceLength() + config.extraPositions()) + ")");
                }
                extra[i - split] = r;
            }
        }
        Tensor pb = backend.gatherRows(positions, base, 1);
        Tensor pe = backend.gatherRows(extraPositions, extra, 1);
        return backend.add(w, backend.concat(1, pb, pe));
    }
}
