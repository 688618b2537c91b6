package io.cogvideo.spi;

import io.cogvideo.CogVideoException;

/**
 * A <em>structured</em> description of which keys each query of an attention call may see, so that a backend can
 * compute the mask on the fly (a GPU kernel never materialises it) and skip invisible key blocks.
 *
 * <p>Index spaces: the key rows of an attention call are {@code [text (textLength rows) ; frame tokens]}; key row
 * {@code textLength + i} is the frame token at <em>frame-space position</em> {@code keyFrameStart + i}, where
 * frame-space position {@code p} lies in frame {@code p / frameLength} at row {@code (p % frameLength) / grid} and
 * column {@code p % grid} of the {@code grid x grid} token raster. The query rows are
 * {@code [text (textLength rows, only if queriesIncludeText) ; frame tokens from queryFrameStart]}.
 *
 * <p>Visibility, as in CogVideo's dual-channel attention (see {@code docs/architecture.md}):
 * <ul>
 *   <li>text key {@code j}: visible to every query if {@code j >= textPadding} (pad keys {@code j < textPadding}
 *       only to pad queries); its score gets {@code + textBoost};</li>
 *   <li>a text query sees no frame key;</li>
 *   <li>a frame query at {@code pq} sees frame key {@code pk} iff ({@code !causal || pk <= pq}) and the {@link Scope}
 *       admits the pair: {@code OWN_FRAME} same frame, {@code ALL_FRAMES} any frame, {@code WINDOW} same spatial
 *       window (any frame).</li>
 * </ul>
 * Window ids: with {@code wrapAround} (a cyclic shift as {@code torch.roll}, no region mask), row window
 * {@code floorMod(r - shift, grid) / windowSize}; without, {@code (r + shift) / windowSize} (windows clipped at the
 * border, the Swin region mask). Columns alike.
 *
 * @param heads             number of attention heads; q, k, v columns are {@code heads x headDim}, head-major
 * @param textLength        key rows (and, with {@code queriesIncludeText}, query rows) that are text
 * @param textPadding       leading text keys that nobody sees (left padding); 0 at CogVideo inference
 * @param textBoost         constant added to every query-to-text score ({@code log_text_attention_weights})
 * @param queriesIncludeText whether the first {@code textLength} query rows are text tokens
 * @param queryFrameStart   frame-space position of the first frame query row
 * @param keyFrameStart     frame-space position of key row {@code textLength}
 * @param frameLength       tokens per frame ({@code grid * grid})
 * @param grid              tokens per frame row
 * @param scope             which frames a frame query may see
 * @param causal            whether a frame query sees only frame keys at positions {@code <=} its own
 * @param windowSize        spatial window edge for {@link Scope#WINDOW}, else 0
 * @param shift             window shift for {@link Scope#WINDOW} (0 or {@code windowSize / 2}), else 0
 * @param wrapAround        whether shifted windows wrap around the border (cyclic roll without region mask)
 * @param interpolation     the stage-2 <em>training</em> frame pattern ({@code attention_mask_local_interp},
 *                          {@code causal_mask_interp}, {@code attn_mask_interp} of the original): frames are in
 *                          temporal order, frame index {@code f = p / frameLength}; even frames (0, 2, 4: given)
 *                          see the even frames fully and never an odd one; an odd frame (1, 3: targets) sees every
 *                          even frame fully, every earlier odd frame fully, and itself causally ({@code pk <= pq}).
 *                          It replaces {@code causal}, which must then be {@code false}; the {@link Scope} still
 *                          applies on top. Only the {@link TrainingOps} pack computes such masks; the inference
 *                          {@link FusedAttention} packs reject them.
 */
public record AttentionMask(
        int heads,
        int textLength,
        int textPadding,
        float textBoost,
        boolean queriesIncludeText,
        int queryFrameStart,
        int keyFrameStart,
        int frameLength,
        int grid,
        Scope scope,
        boolean causal,
        int windowSize,
        int shift,
        boolean wrapAround,
        boolean interpolation) {

    /** Which frames a frame query may attend to. */
    public enum Scope {
        /** Only its own frame (the spatial, CogView2 channel). */
        OWN_FRAME,
        /** Every frame (stage-1 temporal channel, with {@code causal}). */
        ALL_FRAMES,
        /** The same spatial window in every frame (stage-2 temporal channel). */
        WINDOW
    }

    public AttentionMask {
        if (heads < 1) {
            throw new CogVideoException("heads must be >= 1, got " + heads);
        }
        if (textLength < 0 || textPadding < 0 || textPadding > textLength) {
            throw new CogVideoException("need 0 <= textPadding <= textLength, got textPadding=" + textPadding
                    + ", textLength=" + textLength);
        }
        if (grid < 1 || frameLength != grid * grid) {
            throw new CogVideoException("frameLength must be grid*grid, got frameLength=" + frameLength + ", grid=" + grid);
        }
        if (queryFrameStart < 0 || keyFrameStart < 0) {
            throw new CogVideoException("frame starts must be >= 0, got queryFrameStart=" + queryFrameStart
                    + ", keyFrameStart=" + keyFrameStart);
        }
        if (scope == Scope.WINDOW) {
            if (windowSize < 1 || grid % windowSize != 0) {
                throw new CogVideoException("windowSize must divide the frame grid " + grid + ", got " + windowSize);
            }
            // CogVideo shifts by half a window; for other shifts the wrapped (roll) and clipped (region mask) window
            // ids below would not describe the same partition, so they are refused rather than half supported.
            if (shift != 0 && 2 * shift != windowSize) {
                throw new CogVideoException("shift must be 0 or half the window (" + windowSize + " / 2), got " + shift);
            }
        }
        if (interpolation && causal) {
            throw new CogVideoException("an interpolation mask has its own causal rule (odd frames causal, even frames"
                    + " full); causal must be false, got true");
        }
    }

    /** The masks without the interpolation pattern (every inference mask): {@code interpolation = false}. */
    public AttentionMask(int heads, int textLength, int textPadding, float textBoost, boolean queriesIncludeText,
            int queryFrameStart, int keyFrameStart, int frameLength, int grid, Scope scope, boolean causal,
            int windowSize, int shift, boolean wrapAround) {
        this(heads, textLength, textPadding, textBoost, queriesIncludeText, queryFrameStart, keyFrameStart,
                frameLength, grid, scope, causal, windowSize, shift, wrapAround, false);
    }

    // ---------------------------------------------------------------- named masks
    //
    // Each factory reproduces one behaviour of the original code; the names say which. T = text length,
    // grid = tokens per frame row (frames are grid x grid), p = frame-space position of the fed token.

    /**
     * The spatial (frozen CogView2) channel of an uncached pass: text queries see the text; a frame token sees the
     * text, with {@code textBoost} ({@code log_text_attention_weights}, applied only here in the original's uncached
     * pass), and its own frame: causally in stage 1, fully among the given frames of stage 2.
     */
    public static AttentionMask spatialPrefill(int heads, int textLength, int grid, float textBoost,
            boolean causal) {
        return new AttentionMask(heads, textLength, 0, textBoost, true, 0, 0, grid * grid, grid, Scope.OWN_FRAME,
                causal, 0, 0, false);
    }

    /**
     * The spatial channel of a cached step at {@code position}: the text (boosted) and the earlier tokens of its own
     * frame, whose cache rows start at frame-space position {@code keyFrameStart} (the limited spatial cache keeps
     * only the current frame).
     */
    public static AttentionMask spatialStep(int heads, int textLength, int grid, float textBoost, int position,
            int keyFrameStart) {
        return new AttentionMask(heads, textLength, 0, textBoost, false, position, keyFrameStart, grid * grid, grid,
                Scope.OWN_FRAME, true, 0, 0, false);
    }

    /**
     * Stage 1's attention-plus (temporal) channel in an uncached pass ({@code FullAttentionMixin}): frame tokens see
     * all text and every earlier frame token, causally over the flattened frames; no text boost (as the original).
     */
    public static AttentionMask stage1PlusPrefill(int heads, int textLength, int grid) {
        return new AttentionMask(heads, textLength, 0, 0f, false, 0, 0, grid * grid, grid, Scope.ALL_FRAMES, true,
                0, 0, false);
    }

    /** Stage 1's attention-plus channel in a cached step at {@code position}: causal over all frames, text boosted. */
    public static AttentionMask stage1PlusStep(int heads, int textLength, int grid, float textBoost, int position) {
        return new AttentionMask(heads, textLength, 0, textBoost, false, position, 0, grid * grid, grid,
                Scope.ALL_FRAMES, true, 0, 0, false);
    }

    /**
     * Stage 2's attention-plus channel in an uncached pass ({@code WindowAttentionMixin} over the given frames):
     * each token sees its spatial window in every given frame, not causally; a shifted layer rolls the grid by half a
     * window and, as the original non-autoregressive code, applies no region mask, so shifted windows wrap around the
     * frame border. No text boost.
     */
    public static AttentionMask stage2WindowPrefill(int heads, int textLength, int grid, int window,
            boolean shifted) {
        return new AttentionMask(heads, textLength, 0, 0f, false, 0, 0, grid * grid, grid, Scope.WINDOW, false,
                window, shifted ? window / 2 : 0, true);
    }

    /**
     * Stage 2's attention-plus channel in a cached step at {@code position}: its window in every frame, causally;
     * shifted windows are clipped at the frame border (the Swin region mask of the original's cached path). Text
     * boosted.
     */
    public static AttentionMask stage2WindowStep(int heads, int textLength, int grid, float textBoost, int position,
            int window, boolean shifted) {
        return new AttentionMask(heads, textLength, 0, textBoost, false, position, 0, grid * grid, grid,
                Scope.WINDOW, true, window, shifted ? window / 2 : 0, false);
    }

    /**
     * The low-resolution half of CogView2's direct super-resolution: left-padded text (pads hidden from every
     * non-pad query) and the low-resolution frame, all tokens seeing each other (not causal), no boost.
     */
    public static AttentionMask superResolutionBase(int heads, int textSlots, int textPadding, int lowResGrid) {
        return new AttentionMask(heads, textSlots, textPadding, 0f, true, 0, 0, lowResGrid * lowResGrid, lowResGrid,
                Scope.OWN_FRAME, false, 0, 0, false);
    }

    // ---------------------------------------------------------------- training masks
    //
    // The masks of the original's TRAINING model (models/cogvideo_model.py with pretrain_cogvideo.py): the text
    // region is left-padded to textSlots (layout[0] = 64) slots, the first textPadding of which are <pad>; the frames
    // follow in temporal order, the whole sequence in one uncached pass (queries = keys). Pad keys are hidden from
    // every non-pad query (attention_mask_totxt). The original also hides them from the pad queries themselves, which
    // here see them (the convention of superResolutionBase); no output row that the loss reads depends on a pad row,
    // so the loss and every gradient are the same. No text boost in training.

    /**
     * The spatial (base, frozen CogView2) channel of the training model, {@code attention_localframe_and_text} with
     * {@code attention_mask_totxt}: text queries see the non-pad text; a frame token sees the non-pad text and its
     * own frame, causally in stage 1 ({@code attention_mask_local_sequential}). For stage 2 use
     * {@link #spatialInterpTraining}.
     */
    public static AttentionMask spatialTraining(int heads, int textSlots, int textPadding, int grid) {
        return new AttentionMask(heads, textSlots, textPadding, 0f, true, 0, 0, grid * grid, grid, Scope.OWN_FRAME,
                true, 0, 0, false, false);
    }

    /**
     * Stage 2's spatial channel in training ({@code attention_mask_local_interp}): as {@link #spatialTraining}, but
     * inside its frame a given frame (temporal index 0, 2, 4) sees all its tokens and a target frame (1, 3) its
     * tokens causally.
     */
    public static AttentionMask spatialInterpTraining(int heads, int textSlots, int textPadding, int grid) {
        return new AttentionMask(heads, textSlots, textPadding, 0f, true, 0, 0, grid * grid, grid, Scope.OWN_FRAME,
                false, 0, 0, false, true);
    }

    /**
     * Stage 1's attention-plus channel in training ({@code FullAttentionMixin.attention_extra} with the full
     * lower-triangular mask over all frame tokens): frame queries only; each sees the non-pad text and every frame
     * token at or before its own position.
     */
    public static AttentionMask stage1PlusTraining(int heads, int textSlots, int textPadding, int grid) {
        return new AttentionMask(heads, textSlots, textPadding, 0f, false, 0, 0, grid * grid, grid, Scope.ALL_FRAMES,
                true, 0, 0, false, false);
    }

    /**
     * Stage 2's attention-plus channel in training ({@code WindowAttentionMixin.attention_extra} in interp mode):
     * frame queries only; each sees the non-pad text and the tokens of its spatial window in the frames the
     * interpolation pattern allows ({@code causal_mask_interp} on even layers). A shifted (odd) layer moves the
     * windows by {@code window / 2} and, unlike the original's uncached inference pass, applies the Swin region
     * mask ({@code attn_mask_interp}): windows are clipped at the frame border, never wrapped.
     */
    public static AttentionMask stage2WindowTraining(int heads, int textSlots, int textPadding, int grid, int window,
            boolean shifted) {
        return new AttentionMask(heads, textSlots, textPadding, 0f, false, 0, 0, grid * grid, grid, Scope.WINDOW,
                false, window, shifted ? window / 2 : 0, false, true);
    }

    /** Whether query row {@code q} may see key row {@code k} (reference semantics; backends may compute it faster). */
    public boolean visible(int q, int k) {
        if (k < textLength) {
            // pad keys are hidden from every query but the pad queries themselves (CogView2's convention)
            return k >= textPadding || (queriesIncludeText && q < textPadding);
        }
        if (queriesIncludeText && q < textLength) {
            return false;
        }
        int pq = queryPosition(q);
        int pk = keyFrameStart + (k - textLength);
        if (causal && pk > pq) {
            return false;
        }
        if (interpolation && !interpolationVisible(pq / frameLength, pk / frameLength, pq, pk)) {
            return false;
        }
        return switch (scope) {
            case OWN_FRAME -> pq / frameLength == pk / frameLength;
            case ALL_FRAMES -> true;
            case WINDOW -> windowId(pq) == windowId(pk);
        };
    }

    /**
     * The interpolation pattern between temporal frames {@code fq} (query) and {@code fk} (key) at frame-space
     * positions {@code pq}, {@code pk}: even frames see even frames; an odd frame sees even frames, earlier odd
     * frames, and itself causally.
     */
    public static boolean interpolationVisible(int fq, int fk, int pq, int pk) {
        if (fk % 2 == 0) {
            return true;
        }
        if (fq % 2 == 0) {
            return false;
        }
        return fk < fq || (fk == fq && pk <= pq);
    }

    /** Frame-space position of frame query row {@code q} (undefined for text query rows). */
    public int queryPosition(int q) {
        return queryFrameStart + (queriesIncludeText ? q - textLength : q);
    }

    /** Whether query row {@code q} is a text token. */
    public boolean isTextQuery(int q) {
        return queriesIncludeText && q < textLength;
    }

    /** Window id of frame-space position {@code p} (row window * 65536 + column window), for {@link Scope#WINDOW}. */
    public int windowId(int p) {
        int inFrame = p % frameLength;
        int r = inFrame / grid;
        int c = inFrame % grid;
        int wr;
        int wc;
        if (wrapAround) {
            wr = Math.floorMod(r - shift, grid) / windowSize;
            wc = Math.floorMod(c - shift, grid) / windowSize;
        } else {
            wr = (r + shift) / windowSize;
            wc = (c + shift) / windowSize;
        }
        return (wr << 16) | wc;
    }

    /** Builder-style copy with other query/key geometry (same rules). */
    public AttentionMask withFrameStarts(int newQueryFrameStart, int newKeyFrameStart) {
        return new AttentionMask(heads, textLength, textPadding, textBoost, queriesIncludeText, newQueryFrameStart,
                newKeyFrameStart, frameLength, grid, scope, causal, windowSize, shift, wrapAround, interpolation);
    }
}
