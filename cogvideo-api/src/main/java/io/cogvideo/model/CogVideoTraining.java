package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import io.cogvideo.spi.TrainingOps;
import io.cogvideo.spi.TrainingOps.AttentionForward;
import io.cogvideo.spi.TrainingOps.Dropout;
import io.cogvideo.training.TrainingExample;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Training forward and backward of the CogVideo transformer (stages 1 and 2, and image mode: stage
 * {@link TrainingExample#IMAGE_MODE}, the image model of the recipe, one frame with the attention-plus channel off and
 * every row on the base channel, exactly the model's {@code imageMode} prefill), over the same {@link CogVideoModel} weights and layer
 * structure that generation uses (sandwich LayerNorm, dual-channel attention, tied head over rows
 * {@code [0, imageVocab)}), as the original's training model ({@code models/cogvideo_model.py} {@code CogVideoModel}
 * driven by {@code pretrain_cogvideo.py} {@code forward_step}):
 *
 * <pre>
 * x = word_emb[ids] + pos_emb(pos)  (dropout)     pads: position 0, hidden from every query
 * per layer:  a = LN_in(x)
 *             base = dense(Attn_spatial(qkv(a)))     stage 1: own frame causal; stage 2: frames 0,2,4 full, 1,3 causal
 *             plus = dense⁺(Attn_temporal(qkv⁺(a)))  frame queries; stage 1: all frames causal;
 *                                                    stage 2: 10x10 windows, interp pattern, odd layers shifted+clipped
 *             o = [base_text ; σ(α)·base_frames + (1-σ(α))·plus]
 *             x = x + LN_3(o);  x = x + LN_4(dropout(W2·gelu(W1·LN_post(x))))
 * loss = Σ mask_i · CE(LN_final(x_i) · word_emb[:imageVocab]ᵀ, label_i) / Σ mask    (frame rows of the batch)
 * </pre>
 *
 * The attention-plus of the original training model computes its scores with PB-relax ({@code (q/(√d·16))·kᵀ},
 * minus the detached block max, times 16); that is the same softmax, computed here directly. Rows are processed one
 * at a time (their pads differ) and gradients are summed; the normalisation by the whole batch's mask sum is applied
 * per token, so the result is the batch gradient.
 *
 * <p>Needs the {@link TrainingOps} pack (and {@link FusedAttention} for the channel mix, as the model does).
 * Weights are used as the backend holds them; train with float32 weights ({@code BackendOptions} weight dtype
 * FLOAT32). Not thread-safe: one call at a time.
 */
public final class CogVideoTraining {
    private final CogVideoModel model;
    private final CogVideoConfig config;
    private final CogVideoWeights weights;
    private final Backend backend;
    private final TrainingOps train;
    private final FusedAttention attn;
    private final Options options;

    /**
     * Training options.
     *
     * @param windowSize       stage-2 window edge of the attention-plus channel (10 in CogVideo); must divide the
     *                         frame grid when stage-2 rows are trained
     * @param hiddenDropout    dropout rate after the embeddings and on each MLP output (SAT's hidden dropout), in
     *                         {@code [0, 1)}
     * @param attentionDropout dropout rate of the attention probabilities of both channels, in {@code [0, 1)}
     * @param seed             base seed of the dropout masks
     */
    public record Options(int windowSize, float hiddenDropout, float attentionDropout, long seed) {
        public Options {
            if (windowSize < 1) {
                throw new CogVideoException("windowSize must be >= 1, got " + windowSize);
            }
            if (!(hiddenDropout >= 0f && hiddenDropout < 1f)) {
                throw new CogVideoException("hiddenDropout must be in [0, 1), got " + hiddenDropout);
            }
            if (!(attentionDropout >= 0f && attentionDropout < 1f)) {
                throw new CogVideoException("attentionDropout must be in [0, 1), got " + attentionDropout);
            }
        }

        /** Window 10, no dropout (the configuration of the golden tests). */
        public static Options defaults() {
            return new Options(10, 0f, 0f, 0L);
        }
    }

    /**
     * Loss and gradients of one batch.
     *
     * @param stage          the stage of the batch's rows
     * @param loss           {@code Σ mask · CE / Σ mask} over the whole batch, as {@code forward_step}
     * @param lossMaskSum    {@code Σ mask}
     * @param frameLosses    per frame {@code k}: the unmasked mean cross-entropy over its label positions and all rows
     * @param tokenLosses    [row][frame position]: the unmasked cross-entropy of every frame label position
     * @param gradients      {@code d loss / d parameter} for each requested state-dict key, row-major float32 in
     *                       the parameter's shape ({@link #parameterShapes})
     */
    public record Result(int stage, double loss, double lossMaskSum, double[] frameLosses, double[][] tokenLosses,
            Map<String, float[]> gradients) {

        /**
         * The per-frame losses under the names the original logs them: {@code AR_f0..AR_f4} (stage 1, every frame)
         * or {@code ITP_f1..ITP_f3} (stage 2, frames 1 to count-2).
         */
        public Map<String, Double> loggedFrameLosses() {
            Map<String, Double> m = new LinkedHashMap<>();
            if (stage == TrainingExample.IMAGE_MODE) {
                m.put("IMG_loss", frameLosses[0]);
            } else if (stage == 1) {
                for (int k = 0; k < frameLosses.length; k++) {
                    m.put("AR_f" + k + "_loss", frameLosses[k]);
                }
            } else {
                for (int k = 1; k < frameLosses.length - 1; k++) {
                    m.put("ITP_f" + k + "_loss", frameLosses[k]);
                }
            }
            return m;
        }
    }

    /**
     * @throws CogVideoException if the model's backend lacks the {@link TrainingOps} pack
     */
    public CogVideoTraining(CogVideoModel model, Options options) {
        this.model = model;
        this.config = model.config();
        this.weights = model.weights();
        this.backend = model.backend();
        this.options = options;
        this.train = OpPacks.require(backend, TrainingOps.class, "training the CogVideo transformer");
        this.attn = OpPacks.require(backend, FusedAttention.class, "the CogVideo transformer");
    }

    public CogVideoModel model() {
        return model;
    }

    public Options options() {
        return options;
    }

    // ---------------------------------------------------------------- parameters by key

    /** Every state-dict key of the model with its shape, in checkpoint order. */
    public static Map<String, int[]> parameterShapes(CogVideoConfig c) {
        int h = c.hiddenSize();
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("transformer.word_embeddings.weight", new int[] {c.vocabSize(), h});
        m.put("transformer.position_embeddings.weight", new int[] {c.maxSequenceLength(), h});
        m.put("mixins.extra_position_embedding.position_embeddings.weight", new int[] {c.additionalSeqLen(), h});
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "transformer.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new int[] {h});
            m.put(p + "input_layernorm.bias", new int[] {h});
            m.put(p + "attention.query_key_value.weight", new int[] {3 * h, h});
            m.put(p + "attention.query_key_value.bias", new int[] {3 * h});
            m.put(p + "attention.dense.weight", new int[] {h, h});
            m.put(p + "attention.dense.bias", new int[] {h});
            m.put(p + "third_layernorm.weight", new int[] {h});
            m.put(p + "third_layernorm.bias", new int[] {h});
            m.put(p + "post_attention_layernorm.weight", new int[] {h});
            m.put(p + "post_attention_layernorm.bias", new int[] {h});
            m.put(p + "mlp.dense_h_to_4h.weight", new int[] {4 * h, h});
            m.put(p + "mlp.dense_h_to_4h.bias", new int[] {4 * h});
            m.put(p + "mlp.dense_4h_to_h.weight", new int[] {h, 4 * h});
            m.put(p + "mlp.dense_4h_to_h.bias", new int[] {h});
            m.put(p + "fourth_layernorm.weight", new int[] {h});
            m.put(p + "fourth_layernorm.bias", new int[] {h});
            String x = "mixins.attention_plus.";
            m.put(x + "query_key_value." + i + ".weight", new int[] {3 * h, h});
            m.put(x + "query_key_value." + i + ".bias", new int[] {3 * h});
            m.put(x + "dense." + i + ".weight", new int[] {h, h});
            m.put(x + "dense." + i + ".bias", new int[] {h});
            m.put(x + "attn_distribution." + i, new int[] {h});
        }
        m.put("transformer.final_layernorm.weight", new int[] {h});
        m.put("transformer.final_layernorm.bias", new int[] {h});
        return m;
    }

    /**
     * The keys the original trains ({@code CogVideoModel.disable_untrainable_params} freezes {@code transformer.*}):
     * the extra position table and, per layer, the attention-plus qkv and dense and the mix logits.
     */
    public static Set<String> plusChannelKeys(CogVideoConfig c) {
        Set<String> s = new java.util.LinkedHashSet<>();
        for (String k : parameterShapes(c).keySet()) {
            if (k.startsWith("mixins.")) {
                s.add(k);
            }
        }
        return s;
    }

    // ---------------------------------------------------------------- loss and gradients

    /** {@link #lossAndGradients(List, Set, long)} with the options' seed. */
    public Result lossAndGradients(List<TrainingExample> rows, Set<String> trainableKeys) {
        return lossAndGradients(rows, trainableKeys, options.seed());
    }

    /**
     * The loss of a batch and the gradient of every parameter in {@code trainableKeys} (state-dict keys; other
     * parameters get no gradient and cost no weight-gradient work).
     *
     * @param rows        the batch, all of one stage, each in the training layout of this model
     * @param dropoutSeed seed of this call's dropout masks (vary it per step); unused without dropout
     * @throws CogVideoException naming the problem if a row does not fit the model or a key is unknown
     */
    public Result lossAndGradients(List<TrainingExample> rows, Set<String> trainableKeys, long dropoutSeed) {
        if (rows == null || rows.isEmpty()) {
            throw new CogVideoException("a training batch needs at least one row");
        }
        Map<String, int[]> shapes = parameterShapes(config);
        for (String k : trainableKeys) {
            if (!shapes.containsKey(k)) {
                throw new CogVideoException("unknown parameter '" + k + "'; the model's keys are "
                        + shapes.keySet());
            }
        }
        int stage = rows.get(0).stage();
        double maskSum = 0;
        for (int r = 0; r < rows.size(); r++) {
            TrainingExample ex = rows.get(r);
            checkRow(r, ex, stage, rows.get(0).length());
            float[] m = ex.lossMask();
            for (int i = config.textSlots(); i < m.length; i++) {
                maskSum += m[i];
            }
        }
        if (!(maskSum > 0)) {
            throw new CogVideoException("the batch's loss mask sums to " + maskSum + " over the frame positions;"
                    + " nothing to train");
        }
        Map<String, double[]> acc = new LinkedHashMap<>();
        for (String k : shapes.keySet()) {
            if (trainableKeys.contains(k)) {
                acc.put(k, new double[numel(shapes.get(k))]);
            }
        }
        int frameRows = rows.get(0).length() - config.textSlots();
        double[][] tokenLosses = new double[rows.size()][];
        double loss = 0;
        for (int r = 0; r < rows.size(); r++) {
            TrainingExample ex = rows.get(r);
            tokenLosses[r] = runRow(ex, r, maskSum, acc, dropoutSeed);
            float[] m = ex.lossMask();
            for (int i = 0; i < frameRows; i++) {
                loss += m[config.textSlots() + i] * tokenLosses[r][i];
            }
        }
        int frames = frameRows / config.frameLength();
        double[] frameLosses = new double[frames];
        for (int k = 0; k < frames; k++) {
            double s = 0;
            for (double[] tl : tokenLosses) {
                for (int i = 0; i < config.frameLength(); i++) {
                    s += tl[k * config.frameLength() + i];
                }
            }
            frameLosses[k] = s / ((double) config.frameLength() * rows.size());
        }
        Map<String, float[]> grads = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : acc.entrySet()) {
            float[] f = new float[e.getValue().length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) e.getValue()[i];
            }
            grads.put(e.getKey(), f);
        }
        return new Result(stage, loss / maskSum, maskSum, frameLosses, tokenLosses, grads);
    }

    private void checkRow(int r, TrainingExample ex, int stage, int firstLength) {
        int t = config.textSlots();
        int l = config.frameLength();
        int n = ex.length();
        if (ex.stage() != stage) {
            throw new CogVideoException("row " + r + " is stage " + ex.stage() + " but row 0 is stage " + stage
                    + "; a batch has one stage");
        }
        if (n <= t || (n - t) % l != 0 || (n - t) / l > config.frameCount()) {
            throw new CogVideoException("row " + r + " has " + n + " tokens; the training layout needs "
                    + t + " text slots plus 1 to " + config.frameCount() + " frames of " + l);
        }
        if (stage == TrainingExample.IMAGE_MODE && n != t + l) {
            throw new CogVideoException("row " + r + " is an image-mode row of " + n + " tokens; image mode has "
                    + t + " text slots plus exactly one frame of " + l);
        }
        if (n != firstLength) {
            throw new CogVideoException("row " + r + " has " + n + " tokens, unlike row 0");
        }
        if (ex.textPadding() >= t) {
            throw new CogVideoException("row " + r + ": textPadding " + ex.textPadding() + " must be below the "
                    + t + " text slots");
        }
        if (stage == 2 && (config.frameGrid() % options.windowSize() != 0)) {
            throw new CogVideoException("stage-2 window size " + options.windowSize()
                    + " must divide the frame grid " + config.frameGrid());
        }
        int[] ids = ex.inputIds();
        int[] labels = ex.labels();
        int[] pos = ex.positionIds();
        int limit = config.extraPositionStart() + config.additionalSeqLen();
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new CogVideoException("row " + r + ": token id " + ids[i] + " at index " + i
                        + " outside the vocabulary [0, " + config.vocabSize() + ")");
            }
            if (pos[i] < 0 || pos[i] >= limit || (pos[i] >= config.maxSequenceLength()
                    && pos[i] < config.extraPositionStart())) {
                throw new CogVideoException("row " + r + ": position id " + pos[i] + " at index " + i
                        + " outside the position tables [0, " + config.maxSequenceLength() + ") and ["
                        + config.extraPositionStart() + ", " + limit + ")");
            }
            if (i >= t && (labels[i] < 0 || labels[i] >= config.imageVocabSize())) {
                throw new CogVideoException("row " + r + ": label " + labels[i] + " at frame index " + i
                        + " is not an image token [0, " + config.imageVocabSize() + ")");
            }
        }
    }

    private static int numel(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    private static long siteSeed(long seed, int row, int layer, int site) {
        long z = seed ^ (((long) row << 40) + ((long) (layer + 1) << 8) + site) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private Dropout hidden(long seed, int row, int layer, int site) {
        return options.hiddenDropout() > 0 ? new Dropout(options.hiddenDropout(), siteSeed(seed, row, layer, site))
                : Dropout.NONE;
    }

    private Dropout attention(long seed, int row, int layer, int site) {
        return options.attentionDropout() > 0
                ? new Dropout(options.attentionDropout(), siteSeed(seed, row, layer, site)) : Dropout.NONE;
    }

    /** What the backward pass of one layer needs from its forward pass. */
    private record Saved(Tensor x, Tensor a, Tensor q, Tensor k, Tensor v, AttentionMask baseMask,
            AttentionForward base, Tensor out, Tensor pq, Tensor pk, Tensor pv, AttentionMask plusMask,
            AttentionForward plus, Tensor plusOut, Tensor outFrames, Tensor o, Tensor x1, Tensor m, Tensor hid,
            Tensor act, Tensor m2, Dropout mlpDropout, Dropout baseDropout, Dropout plusDropout, Tensor x2) {

        /** Whether the attention-plus channel ran (not in image mode). */
        boolean hasPlus() {
            return plus != null;
        }

        /** Everything but the output {@code x2} (the next layer's input). */
        List<Tensor> all() {
            if (!hasPlus()) { // image mode: o is out
                return List.of(x, a, q, k, v, base.out(), base.logSumExp(), out, x1, m, hid, act, m2);
            }
            return List.of(x, a, q, k, v, base.out(), base.logSumExp(), out, pq, pk, pv, plus.out(),
                    plus.logSumExp(), plusOut, outFrames, o, x1, m, hid, act, m2);
        }
    }

    /** Forward and backward of one row; adds its gradients to {@code acc}; returns its frame-row losses. */
    private double[] runRow(TrainingExample ex, int row, double maskSum, Map<String, double[]> acc, long seed) {
        final int t = config.textSlots();
        final int n = ex.length();
        final int f = n - t;
        final int h = config.hiddenSize();
        final float eps = config.layerNormEps();
        int[] ids = ex.inputIds();
        int[] pos = ex.positionIds();
        try (TensorScope scope = TensorScope.open()) {
            // ---- forward
            Tensor word = backend.gatherRows(weights.wordEmbeddings(), ids, 1);
            Tensor x = backend.add(word, positions(pos));
            Dropout embDrop = hidden(seed, row, -1, 0);
            if (embDrop.active()) {
                x = train.dropout(x, embDrop);
            }
            List<Saved> saved = new ArrayList<>(config.numLayers());
            for (int i = 0; i < config.numLayers(); i++) {
                Saved s = forwardLayer(ex, row, i, x, seed);
                saved.add(s);
                x = s.x2;
            }
            Tensor xFrames = backend.slice(x, 1, t, f);
            Tensor xf = backend.layerNorm(xFrames, weights.finalNormWeight(), weights.finalNormBias(), eps);
            int[] allLabels = ex.labels();
            float[] mask = ex.lossMask();
            int[] labels = new int[f];
            float[] w = new float[f];
            for (int i = 0; i < f; i++) {
                labels[i] = allLabels[t + i];
                w[i] = (float) (mask[t + i] / maskSum);
            }
            TrainingOps.CrossEntropy ce = train.crossEntropy(xf, weights.imageHead(), labels, w);
            String wordKey = "transformer.word_embeddings.weight";
            if (acc.containsKey(wordKey)) {
                addInto(acc.get(wordKey), backend.toFloats(ce.dHead()));
            }
            // ---- backward
            TrainingOps.LayerNormGrads lnf = train.layerNormBackward(xFrames, weights.finalNormWeight(), ce.dX(),
                    eps);
            accumulate(acc, "transformer.final_layernorm.weight", lnf.dGamma());
            accumulate(acc, "transformer.final_layernorm.bias", lnf.dBeta());
            Tensor dx = backend.concat(1, zeros(t, h), lnf.dX());
            for (int i = config.numLayers() - 1; i >= 0; i--) {
                dx = backwardLayer(saved.get(i), i, dx, acc);
                for (Tensor s : saved.get(i).all()) {
                    s.close();
                }
            }
            if (embDrop.active()) {
                dx = train.dropout(dx, embDrop);
            }
            if (acc.containsKey(wordKey)) {
                accumulate(acc, wordKey, train.gatherRowsBackward(dx, ids, config.vocabSize()));
            }
            positionsBackward(pos, dx, acc);
            return ce.losses().clone();
        }
    }

    private Saved forwardLayer(TrainingExample ex, int row, int i, Tensor x, long seed) {
        final int t = config.textSlots();
        final int n = ex.length();
        final int f = n - t;
        final int h = config.hiddenSize();
        final float eps = config.layerNormEps();
        final int heads = config.numHeads();
        final int grid = config.frameGrid();
        CogVideoWeights.Layer w = weights.layers().get(i);
        Block b = w.block();
        Tensor a = backend.layerNorm(x, b.inputNormW(), b.inputNormB(), eps);
        Tensor qkv = backend.linear(a, b.qkvW(), b.qkvB()); // [1, n, 3h]
        Tensor q = backend.slice(qkv, 2, 0, h);
        Tensor k = backend.slice(qkv, 2, h, h);
        Tensor v = backend.slice(qkv, 2, 2 * h, h);
        qkv.close();
        AttentionMask baseMask = ex.stage() != 2 // image mode and stage 1: causal within the own frame
                ? AttentionMask.spatialTraining(heads, t, ex.textPadding(), grid)
                : AttentionMask.spatialInterpTraining(heads, t, ex.textPadding(), grid);
        Dropout baseDrop = attention(seed, row, i, 1);
        AttentionForward base = train.attentionForward(q, k, v, baseMask, baseDrop);
        Tensor out = backend.linear(base.out(), b.denseW(), b.denseB()); // [1, n, h]
        if (ex.stage() == TrainingExample.IMAGE_MODE) {
            // enforce_no_swin: the attention-plus channel is off, every row keeps the base channel (o = base)
            Tensor l3 = backend.layerNorm(out, b.thirdNormW(), b.thirdNormB(), eps);
            Tensor x1 = backend.add(x, l3);
            l3.close();
            return mlpTail(b, i, row, seed, x, a, q, k, v, baseMask, base, out, null, null, null, null, null, null,
                    null, out, x1, baseDrop, Dropout.NONE);
        }
        Tensor pqkv = backend.linear(a, w.plusQkvW(), w.plusQkvB()); // [1, n, 3h]
        Tensor pqAll = backend.slice(pqkv, 2, 0, h);
        Tensor pq = backend.slice(pqAll, 1, t, f); // [1, f, h]: frame queries only
        pqAll.close();
        Tensor pk = backend.slice(pqkv, 2, h, h);
        Tensor pv = backend.slice(pqkv, 2, 2 * h, h);
        pqkv.close();
        AttentionMask plusMask = ex.stage() == 1
                ? AttentionMask.stage1PlusTraining(heads, t, ex.textPadding(), grid)
                : AttentionMask.stage2WindowTraining(heads, t, ex.textPadding(), grid, options.windowSize(),
                        i % 2 == 1);
        Dropout plusDrop = attention(seed, row, i, 2);
        AttentionForward plus = train.attentionForward(pq, pk, pv, plusMask, plusDrop);
        Tensor plusOut = backend.linear(plus.out(), w.plusDenseW(), w.plusDenseB()); // [1, f, h]
        Tensor outFrames = backend.slice(out, 1, t, f);
        Tensor mixed = attn.channelMix(outFrames, plusOut, w.mixLogits());
        Tensor outText = backend.slice(out, 1, 0, t);
        Tensor o = backend.concat(1, outText, mixed);
        outText.close();
        mixed.close();
        Tensor l3 = backend.layerNorm(o, b.thirdNormW(), b.thirdNormB(), eps);
        Tensor x1 = backend.add(x, l3);
        l3.close();
        return mlpTail(b, i, row, seed, x, a, q, k, v, baseMask, base, out, pq, pk, pv, plusMask, plus, plusOut,
                outFrames, o, x1, baseDrop, plusDrop);
    }

    /** The MLP half of a layer, {@code x2 = x1 + LN_4(dropout(W2·gelu(W1·LN_post(x1))))}, and the saved tensors. */
    private Saved mlpTail(Block b, int i, int row, long seed, Tensor x, Tensor a, Tensor q, Tensor k, Tensor v,
            AttentionMask baseMask, AttentionForward base, Tensor out, Tensor pq, Tensor pk, Tensor pv,
            AttentionMask plusMask, AttentionForward plus, Tensor plusOut, Tensor outFrames, Tensor o, Tensor x1,
            Dropout baseDrop, Dropout plusDrop) {
        final float eps = config.layerNormEps();
        Tensor m = backend.layerNorm(x1, b.postNormW(), b.postNormB(), eps);
        Tensor hid = backend.linear(m, b.fcInW(), b.fcInB()); // [1, n, 4h]
        Tensor act = backend.gelu(hid);
        Tensor m2 = backend.linear(act, b.fcOutW(), b.fcOutB());
        Dropout mlpDrop = hidden(seed, row, i, 3);
        Tensor m2d = mlpDrop.active() ? train.dropout(m2, mlpDrop) : m2;
        Tensor l4 = backend.layerNorm(m2d, b.fourthNormW(), b.fourthNormB(), eps);
        Tensor x2 = backend.add(x1, l4);
        l4.close();
        if (m2d != m2) {
            m2d.close();
        }
        return new Saved(x, a, q, k, v, baseMask, base, out, pq, pk, pv, plusMask, plus, plusOut, outFrames, o, x1,
                m, hid, act, m2, mlpDrop, baseDrop, plusDrop, x2);
    }

    private Tensor backwardLayer(Saved s, int i, Tensor dx2, Map<String, double[]> acc) {
        final int t = config.textSlots();
        final int h = config.hiddenSize();
        final float eps = config.layerNormEps();
        final int f = s.hasPlus() ? s.pq.dim(1) : 0;
        CogVideoWeights.Layer w = weights.layers().get(i);
        Block b = w.block();
        String p = "transformer.layers." + i + ".";
        String x = "mixins.attention_plus.";
        try (TensorScope scope = TensorScope.open()) {
            // x2 = x1 + LN4(dropout(m2))
            Tensor m2d = s.mlpDropout.active() ? train.dropout(s.m2, s.mlpDropout) : s.m2;
            TrainingOps.LayerNormGrads g4 = train.layerNormBackward(m2d, b.fourthNormW(), dx2, eps);
            accumulate(acc, p + "fourth_layernorm.weight", g4.dGamma());
            accumulate(acc, p + "fourth_layernorm.bias", g4.dBeta());
            Tensor dm2 = s.mlpDropout.active() ? train.dropout(g4.dX(), s.mlpDropout) : g4.dX();
            TrainingOps.LinearGrads gOut = linearBack(s.act, b.fcOutW(), dm2, p + "mlp.dense_4h_to_h", acc);
            Tensor dhid = train.geluBackward(s.hid, gOut.dX());
            TrainingOps.LinearGrads gIn = linearBack(s.m, b.fcInW(), dhid, p + "mlp.dense_h_to_4h", acc);
            TrainingOps.LayerNormGrads gPost = train.layerNormBackward(s.x1, b.postNormW(), gIn.dX(), eps);
            accumulate(acc, p + "post_attention_layernorm.weight", gPost.dGamma());
            accumulate(acc, p + "post_attention_layernorm.bias", gPost.dBeta());
            Tensor dx1 = backend.add(dx2, gPost.dX());
            // x1 = x + LN3(o)
            TrainingOps.LayerNormGrads g3 = train.layerNormBackward(s.o, b.thirdNormW(), dx1, eps);
            accumulate(acc, p + "third_layernorm.weight", g3.dGamma());
            accumulate(acc, p + "third_layernorm.bias", g3.dBeta());
            Tensor dOut;
            TrainingOps.LinearGrads gpq = null;
            if (!s.hasPlus()) { // image mode: o = out
                dOut = g3.dX();
            } else {
                Tensor dOutText = backend.slice(g3.dX(), 1, 0, t);
                Tensor dMixed = backend.slice(g3.dX(), 1, t, f);
                TrainingOps.ChannelMixGrads gm = train.channelMixBackward(s.outFrames, s.plusOut, w.mixLogits(),
                        dMixed);
                accumulate(acc, x + "attn_distribution." + i, gm.dMixLogits());
                // attention-plus channel
                TrainingOps.LinearGrads gpd = linearBack(s.plus.out(), w.plusDenseW(), gm.dPlus(), x + "dense." + i,
                        acc);
                TrainingOps.AttentionGrads gpa = train.attentionBackward(s.pq, s.pk, s.pv, s.plusMask, s.plusDropout,
                        s.plus, gpd.dX());
                Tensor dpq = backend.concat(1, zeros(t, h), gpa.dQ()); // text rows asked no plus query
                Tensor dpqkv = backend.concat(2, dpq, gpa.dK(), gpa.dV());
                gpq = linearBack(s.a, w.plusQkvW(), dpqkv, x + "query_key_value." + i, acc);
                dOut = backend.concat(1, dOutText, gm.dBase());
            }
            // base channel
            TrainingOps.LinearGrads gd = linearBack(s.base.out(), b.denseW(), dOut, p + "attention.dense", acc);
            TrainingOps.AttentionGrads ga = train.attentionBackward(s.q, s.k, s.v, s.baseMask, s.baseDropout,
                    s.base, gd.dX());
            Tensor dqkv = backend.concat(2, ga.dQ(), ga.dK(), ga.dV());
            TrainingOps.LinearGrads gq = linearBack(s.a, b.qkvW(), dqkv, p + "attention.query_key_value", acc);
            Tensor da = gpq == null ? gq.dX() : backend.add(gq.dX(), gpq.dX());
            TrainingOps.LayerNormGrads gIn0 = train.layerNormBackward(s.x, b.inputNormW(), da, eps);
            accumulate(acc, p + "input_layernorm.weight", gIn0.dGamma());
            accumulate(acc, p + "input_layernorm.bias", gIn0.dBeta());
            return scope.keep(backend.add(dx1, gIn0.dX()));
        }
    }

    /** Linear backward with the weight gradient only when {@code prefix.weight} or {@code prefix.bias} trains. */
    private TrainingOps.LinearGrads linearBack(Tensor xIn, Tensor weight, Tensor dy, String prefix,
            Map<String, double[]> acc) {
        boolean want = acc.containsKey(prefix + ".weight") || acc.containsKey(prefix + ".bias");
        TrainingOps.LinearGrads g = train.linearBackward(xIn, weight, dy, want, true);
        if (want) {
            accumulate(acc, prefix + ".weight", g.dWeight());
            accumulate(acc, prefix + ".bias", g.dBias());
        }
        return g;
    }

    /** Position embeddings: positions below 512 + frameLength from the base table, the rest from the extra one. */
    private Tensor positions(int[] pos) {
        List<Tensor> parts = new ArrayList<>();
        for (int[] seg : segments(pos)) {
            boolean extra = seg[2] == 1;
            int[] rows = new int[seg[1] - seg[0]];
            for (int i = seg[0]; i < seg[1]; i++) {
                rows[i - seg[0]] = extra ? pos[i] - config.extraPositionStart() : pos[i];
            }
            parts.add(backend.gatherRows(extra ? weights.extraPositions() : weights.positionEmbeddings(), rows, 1));
        }
        return parts.size() == 1 ? parts.get(0) : backend.concat(1, parts.toArray(new Tensor[0]));
    }

    private void positionsBackward(int[] pos, Tensor dx, Map<String, double[]> acc) {
        String baseKey = "transformer.position_embeddings.weight";
        String extraKey = "mixins.extra_position_embedding.position_embeddings.weight";
        for (int[] seg : segments(pos)) {
            boolean extra = seg[2] == 1;
            String key = extra ? extraKey : baseKey;
            if (!acc.containsKey(key)) {
                continue;
            }
            int[] rows = new int[seg[1] - seg[0]];
            for (int i = seg[0]; i < seg[1]; i++) {
                rows[i - seg[0]] = extra ? pos[i] - config.extraPositionStart() : pos[i];
            }
            Tensor part = seg[0] == 0 && seg[1] == pos.length ? dx : backend.slice(dx, 1, seg[0], seg[1] - seg[0]);
            accumulate(acc, key, train.gatherRowsBackward(part, rows,
                    extra ? config.additionalSeqLen() : config.maxSequenceLength()));
        }
    }

    /** Maximal runs of positions served by one table: {from, to, extra ? 1 : 0}. */
    private List<int[]> segments(int[] pos) {
        List<int[]> out = new ArrayList<>();
        int i = 0;
        while (i < pos.length) {
            boolean extra = pos[i] >= config.extraPositionStart();
            int j = i;
            while (j < pos.length && (pos[j] >= config.extraPositionStart()) == extra) {
                j++;
            }
            out.add(new int[] {i, j, extra ? 1 : 0});
            i = j;
        }
        return out;
    }

    private Tensor zeros(int rows, int h) {
        return backend.fromFloats(new float[rows * h], 1, rows, h);
    }

    private void accumulate(Map<String, double[]> acc, String key, Tensor g) {
        double[] a = acc.get(key);
        if (a != null && g != null) {
            addInto(a, backend.toFloats(g));
        }
    }

    private static void addInto(double[] a, float[] g) {
        for (int i = 0; i < g.length; i++) {
            a[i] += g[i];
        }
    }
}
