package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CogVideo transformer: one definition, two execution paths (the uncached pass over a whole prefix, and cached
 * one-token steps), on any {@link Backend}. Mirrors {@code CogVideoCacheModel} of the original code
 * ({@code models/cogvideo_cache_model.py}) on SwissArmyTransformer's sandwich-LayerNorm transformer.
 *
 * <pre>
 * x = word_emb[ids] + pos_emb(pos)                 pos &lt; 912: base table, else extra table row pos - 912
 * per layer:  a = LN_in(x)
 *             base = dense(Attn_spatial(qkv(a)))    text: text only; frame token: text + its own frame
 *             plus = dense⁺(Attn_temporal(qkv⁺(a))) frame tokens only: text + frames (stage 1: all, causal;
 *                                                   stage 2: 10x10 windows over all frames, odd layers shifted)
 *             o = text ? base : σ(α)·base + (1-σ(α))·plus   (image mode: o = base)
 *             x = x + LN_3(o);  x = x + LN_4(W2·gelu(W1·LN_post(x)))
 * logits = LN_final(x) · word_emb[:imageVocab]ᵀ
 * </pre>
 *
 * Immutable and thread-safe: all mutable state of a generation lives in an {@link InferenceState}.
 */
public final class CogVideoModel {
    private final CogVideoConfig config;
    private final CogVideoWeights weights;
    private final Backend backend;
    private final FusedAttention attn;

    /**
     * @param backend the backend the weights live on (a {@link io.cogvideo.spi.CheckedBackend})
     * @throws CogVideoException if the backend lacks the {@link FusedAttention} pack
     */
    public CogVideoModel(CogVideoConfig config, CogVideoWeights weights, Backend backend) {
        this.config = config;
        this.weights = weights;
        this.backend = backend;
        this.attn = OpPacks.require(backend, FusedAttention.class, "the CogVideo transformer");
    }

    /**
     * Loads a CogVideo stage checkpoint folder (SwissArmyTransformer layout or {@code model_config.json} +
     * safetensors) onto a backend, checking every tensor's shape against the config.
     */
    public static CogVideoModel load(Path checkpointDir, Backend backend) {
        OpPacks.require(backend, FusedAttention.class, "the CogVideo transformer");
        try (SatCheckpoint ckpt = SatCheckpoint.open(checkpointDir)) {
            CogVideoConfig config = ckpt.parseConfig(CogVideoConfig::fromSatConfig);
            StateDict sd = ckpt.stateDict();
            return new CogVideoModel(config, CogVideoWeights.load(config, sd::require, backend), backend);
        }
    }

    public CogVideoConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public CogVideoWeights weights() {
        return weights;
    }

    /** New per-request caches for {@code batch} sequences whose text prefix has {@code textLength} tokens. */
    public InferenceState newState(int batch, int textLength, SequenceOptions options) {
        // caches in the weights' storage type (float16 weights: float16 caches where the backend can hold them)
        return new InferenceState(config, backend, weights.layers().get(0).block().qkvW().dtype(), batch, textLength,
                options);
    }

    /**
     * The uncached pass over a prefix of text plus whole frames ({@code tokens[b].length = T + k * frameLength}),
     * filling the caches of {@code state}. Frame blocks carry {@code <start_of_image>} in their first slot, as fed by
     * the pipeline.
     *
     * @param tokens     [batch][n] token ids
     * @param positions  [n] position ids (stage 1: text 0.., frames 512..; stage 2: temporal slots, see
     *                   {@link io.cogvideo.generation.SequenceLayout})
     * @param logitRows  rows whose logits to return (e.g. only the last), or {@code null} for all
     * @return logits [batch, logitRows.length (or n), imageVocab]
     */
    public Tensor prefill(InferenceState state, int[][] tokens, int[] positions, int[] logitRows) {
        state.checkOpen();
        final int T = state.textLength;
        final int L = config.frameLength();
        final int h = config.hiddenSize();
        if (tokens.length != state.batch) {
            throw new CogVideoException("prefill: " + tokens.length + " token rows for a state of batch " + state.batch);
        }
        final int n = positions.length;
        if (state.nextIndex != 0) {
            throw new CogVideoException("prefill must be the first call on a state (state is at index "
                    + state.nextIndex + ")");
        }
        if (n < T || (n - T) % L != 0) {
            throw new CogVideoException("prefill length " + n + " must be text length " + T
                    + " plus whole frames of " + L + " tokens");
        }
        final int frameTokens = n - T;
        if (frameTokens > config.frameCount() * L) {
            throw new CogVideoException("prefill has " + frameTokens / L + " frames; the model holds at most "
                    + config.frameCount());
        }
        if (state.options.stage() == 2 && frameTokens != 0 && frameTokens != 3 * L) {
            throw new CogVideoException("stage-2 prefill must give exactly 3 frames (the parent frames), got "
                    + frameTokens / L);
        }
        SequenceOptions o = state.options;
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = embed(tokens, positions); // [B, n, h]
            AttentionMask baseMask = AttentionMask.spatialPrefill(config.numHeads(), T, config.frameGrid(),
                    o.textBoost(), o.stage() == 1);
            for (int i = 0; i < config.numLayers(); i++) {
                x = prefillLayer(state, i, x, baseMask, frameTokens);
            }
            Tensor logits = logits(x, logitRows);
            updatePrefilled(state, n, frameTokens);
            return scope.keep(logits);
        }
    }

    /** One layer of the uncached pass: fills layer {@code i}'s caches and returns the layer output. */
    private Tensor prefillLayer(InferenceState state, int i, Tensor x, AttentionMask baseMask, int frameTokens) {
        final int T = state.textLength;
        final int n = x.dim(1);
        final int h = config.hiddenSize();
        SequenceOptions o = state.options;
        CogVideoWeights.Layer w = weights.layers().get(i);
        try (TensorScope scope = TensorScope.open()) {
            scope.adopt(x);
            Tensor a = backend.layerNorm(x, w.block().inputNormW(), w.block().inputNormB(), config.layerNormEps());
            Tensor qkv = backend.linear(a, w.block().qkvW(), w.block().qkvB()); // [B, n, 3h]: Q | K | V
            Tensor q = backend.slice(qkv, 2, 0, h);
            Tensor k = backend.slice(qkv, 2, h, h);
            Tensor v = backend.slice(qkv, 2, 2 * h, h);
            qkv.close(); // large in a long prefix: free it early (the scope would only free it at the layer's end)
            // The base cache keeps all rows, or (limited) the text only: the prefix ends on a frame boundary.
            int keep = o.limitedBaseCache() ? T : n;
            writeRows(state.baseK.get(i), k, keep);
            writeRows(state.baseV.get(i), v, keep);
            Tensor ctx = attn.attention(q, k, v, n, baseMask); // [B, n, h]
            Tensor out = backend.linear(ctx, w.block().denseW(), w.block().denseB());
            if (!o.imageMode()) {
                Tensor pqkv = backend.linear(a, w.plusQkvW(), w.plusQkvB()); // [B, n, 3h]
                Tensor pk = backend.slice(pqkv, 2, h, h);
                Tensor pv = backend.slice(pqkv, 2, 2 * h, h);
                writeRows(state.plusK.get(i), pk, n);
                writeRows(state.plusV.get(i), pv, n);
                if (frameTokens > 0) {
                    Tensor pq = backend.slice(backend.slice(pqkv, 1, T, frameTokens), 2, 0, h); // [B, frames, h]
                    Tensor pctx = attn.attention(pq, pk, pv, n, plusMaskPrefill(T, i, o));
                    Tensor plus = backend.linear(pctx, w.plusDenseW(), w.plusDenseB());
                    // text rows keep the base channel; frame rows mix both
                    Tensor mixed = attn.channelMix(backend.slice(out, 1, T, frameTokens), plus, w.mixLogits());
                    out = backend.concat(1, backend.slice(out, 1, 0, T), mixed);
                }
            }
            return scope.keep(w.block().residualTail(backend, x, out, config.layerNormEps()));
        }
    }

    private static void updatePrefilled(InferenceState state, int n, int frameTokens) {
        SequenceOptions o = state.options;
        final int T = state.textLength;
        state.baseLength = o.limitedBaseCache() ? T : n;
        state.baseFrameStart = o.limitedBaseCache() ? frameTokens : 0;
        state.plusLength = o.imageMode() ? 0 : n;
        state.nextIndex = n;
    }

    /**
     * One cached step: feeds token {@code tokens[b]} at sequence index {@link InferenceState#nextIndex()} with
     * position id {@code position}, and returns the logits that predict the next token.
     *
     * @return logits [batch, 1, imageVocab]
     */
    public Tensor step(InferenceState state, int[] tokens, int position) {
        state.checkOpen();
        final int T = state.textLength;
        final int L = config.frameLength();
        SequenceOptions o = state.options;
        if (tokens.length != state.batch) {
            throw new CogVideoException("step: " + tokens.length + " tokens for a state of batch " + state.batch);
        }
        if (state.nextIndex < T) {
            throw new CogVideoException("step before the text prefix was prefilled");
        }
        final int p = state.nextIndex - T; // frame-space position of the fed token
        if (p >= config.frameCount() * L) {
            throw new CogVideoException("sequence is full: " + config.frameCount() + " frames of " + L + " tokens");
        }
        if (o.limitedBaseCache() && p % L == 0) {
            state.baseLength = T; // a new frame starts: the spatial channel forgets the previous one
            state.baseFrameStart = p;
        }
        int[][] ids = new int[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            ids[b] = new int[] {tokens[b]};
        }
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = embed(ids, new int[] {position}); // [B, 1, h]
            AttentionMask baseMask = AttentionMask.spatialStep(config.numHeads(), T, config.frameGrid(),
                    o.textBoost(), p, state.baseFrameStart);
            for (int i = 0; i < config.numLayers(); i++) {
                x = stepLayer(state, i, x, baseMask, p);
            }
            Tensor logits = logits(x, null);
            advance(state);
            return scope.keep(logits);
        }
    }

    /** One layer of a cached step at frame-space position {@code p}. */
    private Tensor stepLayer(InferenceState state, int i, Tensor x, AttentionMask baseMask, int p) {
        final int h = config.hiddenSize();
        SequenceOptions o = state.options;
        CogVideoWeights.Layer w = weights.layers().get(i);
        try (TensorScope scope = TensorScope.open()) {
            scope.adopt(x);
            Tensor a = backend.layerNorm(x, w.block().inputNormW(), w.block().inputNormB(), config.layerNormEps());
            Tensor qkv = backend.linear(a, w.block().qkvW(), w.block().qkvB()); // [B, 1, 3h]
            backend.write(state.baseK.get(i), 1, state.baseLength, backend.slice(qkv, 2, h, h));
            backend.write(state.baseV.get(i), 1, state.baseLength, backend.slice(qkv, 2, 2 * h, h));
            Tensor ctx = attn.attention(backend.slice(qkv, 2, 0, h), state.baseK.get(i), state.baseV.get(i),
                    state.baseLength + 1, baseMask);
            Tensor out = backend.linear(ctx, w.block().denseW(), w.block().denseB());
            if (!o.imageMode()) {
                Tensor pqkv = backend.linear(a, w.plusQkvW(), w.plusQkvB());
                backend.write(state.plusK.get(i), 1, state.plusLength, backend.slice(pqkv, 2, h, h));
                backend.write(state.plusV.get(i), 1, state.plusLength, backend.slice(pqkv, 2, 2 * h, h));
                Tensor pctx = attn.attention(backend.slice(pqkv, 2, 0, h), state.plusK.get(i), state.plusV.get(i),
                        state.plusLength + 1, plusMaskStep(state.textLength, i, p, o));
                Tensor plus = backend.linear(pctx, w.plusDenseW(), w.plusDenseB());
                out = attn.channelMix(out, plus, w.mixLogits());
            }
            return scope.keep(w.block().residualTail(backend, x, out, config.layerNormEps()));
        }
    }

    private static void advance(InferenceState state) {
        state.baseLength++;
        if (!state.options.imageMode()) {
            state.plusLength++;
        }
        state.nextIndex++;
    }

    /** Temporal channel of the uncached pass: no text boost (as the original). */
    private AttentionMask plusMaskPrefill(int T, int layer, SequenceOptions o) {
        if (o.stage() == 1) {
            return AttentionMask.stage1PlusPrefill(config.numHeads(), T, config.frameGrid());
        }
        return AttentionMask.stage2WindowPrefill(config.numHeads(), T, config.frameGrid(), o.windowSize(),
                layer % 2 == 1);
    }

    /** Temporal channel of a cached step at frame-space position {@code p}: text boost applies. */
    private AttentionMask plusMaskStep(int T, int layer, int p, SequenceOptions o) {
        if (o.stage() == 1) {
            return AttentionMask.stage1PlusStep(config.numHeads(), T, config.frameGrid(), o.textBoost(), p);
        }
        return AttentionMask.stage2WindowStep(config.numHeads(), T, config.frameGrid(), o.textBoost(), p,
                o.windowSize(), layer % 2 == 1);
    }

    private Tensor logits(Tensor x, int[] rows) {
        Tensor xf = backend.layerNorm(x, weights.finalNormWeight(), weights.finalNormBias(), config.layerNormEps());
        Tensor sel = xf;
        if (rows != null) {
            int n = xf.dim(1);
            List<Tensor> parts = new ArrayList<>(rows.length);
            for (int r : rows) {
                if (r < 0 || r >= n) {
                    throw new CogVideoException("logit row " + r + " outside [0, " + n + ")");
                }
                parts.add(backend.slice(xf, 1, r, 1));
            }
            sel = parts.size() == 1 ? parts.get(0) : backend.concat(1, parts.toArray(new Tensor[0]));
        }
        return backend.linear(sel, weights.imageHead(), null);
    }

    /** Word plus position embeddings; positions below 512 + frameLength use the base table, the rest the extra one. */
    private Tensor embed(int[][] tokens, int[] positions) {
        int batch = tokens.length;
        int n = positions.length;
        int[] flat = new int[batch * n];
        for (int b = 0; b < batch; b++) {
            if (tokens[b].length != n) {
                throw new CogVideoException("token row " + b + " has " + tokens[b].length + " ids, expected " + n);
            }
            for (int i = 0; i < n; i++) {
                int id = tokens[b][i];
                if (id < 0 || id >= config.vocabSize()) {
                    throw new CogVideoException("token id " + id + " at row " + b + ", index " + i
                            + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
                flat[b * n + i] = id;
            }
        }
        Tensor word = backend.gatherRows(weights.wordEmbeddings(), flat, batch); // [B, n, h]
        int extraStart = config.extraPositionStart();
        List<Tensor> parts = new ArrayList<>();
        int i = 0;
        while (i < n) {
            boolean extra = positions[i] >= extraStart;
            int j = i;
            while (j < n && (positions[j] >= extraStart) == extra) {
                j++;
            }
            int[] rows = new int[j - i];
            for (int t = i; t < j; t++) {
                int pos = positions[t];
                int row = extra ? pos - extraStart : pos;
                int limit = extra ? config.additionalSeqLen() : config.maxSequenceLength();
                if (pos < 0 || row >= limit) {
                    throw new CogVideoException("position id " + pos + " at index " + t + " is outside [0, "
                            + (extraStart + config.additionalSeqLen()) + ")");
                }
                rows[t - i] = row;
            }
            parts.add(backend.gatherRows(extra ? weights.extraPositions() : weights.positionEmbeddings(), rows, 1));
            i = j;
        }
        Tensor pos = parts.size() == 1 ? parts.get(0) : backend.concat(1, parts.toArray(new Tensor[0]));
        return backend.add(word, pos);
    }

    private void writeRows(Tensor cache, Tensor src, int rows) {
        backend.write(cache, 1, 0, rows == src.dim(1) ? src : backend.slice(src, 1, 0, rows));
    }
}
