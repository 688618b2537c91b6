package io.cogvideo.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask.Scope;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link AttentionMask#visible} against an independent brute-force formulation: every query and key row is first
 * turned into an explicit token (text index, or frame, row and column), windows are enumerated as explicit sets of
 * cells (the Swin construction: roll the grid by {@code -shift}, cut it into {@code window x window} tiles, and, without
 * wrap-around, split every tile that wraps across the border into its un-wrapped pieces), and visibility is decided
 * from those tokens. The named factories are checked, field by field, against the positional constructor calls
 * CogVideoModel and DsrModel made before the factories existed (commit 5d526ac).
 */
class AttentionMaskTest {

    // ---------------------------------------------------------------- the brute-force formulation

    /** A row of an attention call: text (index {@code text}) or a frame token at frame-space position {@code pos}. */
    private record Token(boolean isText, int text, int pos, int frame, int row, int col) {
        static Token text(int i) {
            return new Token(true, i, -1, -1, -1, -1);
        }

        static Token frame(int pos, int grid) {
            int inFrame = pos % (grid * grid);
            return new Token(false, -1, pos, pos / (grid * grid), inFrame / grid, inFrame % grid);
        }
    }

    private static Token queryToken(AttentionMask m, int q) {
        if (m.queriesIncludeText() && q < m.textLength()) {
            return Token.text(q);
        }
        int frameRow = m.queriesIncludeText() ? q - m.textLength() : q;
        return Token.frame(m.queryFrameStart() + frameRow, m.grid());
    }

    private static Token keyToken(AttentionMask m, int k) {
        return k < m.textLength() ? Token.text(k) : Token.frame(m.keyFrameStart() + k - m.textLength(), m.grid());
    }

    /**
     * The label of every cell's window, built by enumerating windows as sets of cells (not by a per-cell formula).
     * One axis suffices: a 2-D window is a pair of 1-D windows.
     */
    private static int[] windowLabels(int grid, int window, int shift, boolean wrapAround) {
        int[] label = new int[grid];
        java.util.Arrays.fill(label, -1);
        int next = 0;
        for (int tile = 0; tile < grid / window; tile++) {
            // tile of the rolled grid: original cells shift + tile*window ... + window - 1, modulo grid
            List<Integer> cells = new ArrayList<>();
            for (int t = 0; t < window; t++) {
                cells.add(shift + tile * window + t);
            }
            if (wrapAround) {
                int id = next++;
                for (int c : cells) {
                    label[c % grid] = id;
                }
            } else {
                // the region mask: the part that wrapped past the border is a window of its own
                int inside = next++;
                int wrapped = next++;
                for (int c : cells) {
                    label[c % grid] = c < grid ? inside : wrapped;
                }
            }
        }
        for (int c = 0; c < grid; c++) {
            assertThat(label[c]).as("cell " + c + " is in a window").isNotNegative();
        }
        return label;
    }

    /** Whether query {@code q} sees key {@code k}, decided from explicit tokens and enumerated windows. */
    private static boolean bruteVisible(AttentionMask m, int q, int k) {
        Token query = queryToken(m, q);
        Token key = keyToken(m, k);
        if (key.isText()) {
            boolean padKey = key.text() < m.textPadding();
            boolean padQuery = query.isText() && query.text() < m.textPadding();
            return !padKey || padQuery;
        }
        if (query.isText()) {
            return false; // text queries see no frame key
        }
        if (m.causal() && key.pos() > query.pos()) {
            return false;
        }
        switch (m.scope()) {
            case OWN_FRAME:
                return key.frame() == query.frame();
            case ALL_FRAMES:
                return true;
            default:
                int[] labels = windowLabels(m.grid(), m.windowSize(), m.shift(), m.wrapAround());
                return labels[key.row()] == labels[query.row()] && labels[key.col()] == labels[query.col()];
        }
    }

    private static void assertSameAsBruteForce(AttentionMask m, int queries, int keys) {
        int checked = 0;
        for (int q = 0; q < queries; q++) {
            for (int k = 0; k < keys; k++) {
                boolean expected = bruteVisible(m, q, k);
                if (m.visible(q, k) != expected) {
                    throw new AssertionError("visible(" + q + ", " + k + ") = " + !expected + ", brute force says "
                            + expected + " (query " + queryToken(m, q) + ", key " + keyToken(m, k) + ") for " + m);
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(queries * keys);
    }

    // ---------------------------------------------------------------- every scope and flag against brute force

    @Test
    void everyScopeCausalShiftWrapAndTextLayoutMatchesBruteForce() {
        int grid = 4;
        int window = 2;
        int frameLength = grid * grid;
        int combos = 0;
        for (Scope scope : Scope.values()) {
            for (boolean causal : new boolean[] {false, true}) {
                int[] shifts = scope == Scope.WINDOW ? new int[] {0, window / 2} : new int[] {0};
                for (int shift : shifts) {
                    for (boolean wrap : new boolean[] {false, true}) {
                        for (boolean queriesIncludeText : new boolean[] {false, true}) {
                            for (int[] text : new int[][] {{0, 0}, {3, 0}, {3, 2}, {2, 2}}) {
                                for (int[] starts : new int[][] {{0, 0}, {5, 0}, {frameLength + 3, frameLength},
                                    {2 * frameLength - 1, 0}}) {
                                    AttentionMask m = new AttentionMask(2, text[0], text[1], 0.5f, queriesIncludeText,
                                            starts[0], starts[1], frameLength, grid, scope, causal,
                                            scope == Scope.WINDOW ? window : 0, shift, wrap);
                                    int queries = (queriesIncludeText ? text[0] : 0) + 2 * frameLength;
                                    int keys = text[0] + 3 * frameLength;
                                    assertSameAsBruteForce(m, queries, keys);
                                    combos++;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertThat(combos).isEqualTo((2 + 2 + 2 * 2) * 2 * 2 * 4 * 4);
    }

    @Test
    void cogVideoSizesMatchBruteForceOnSampledRows() {
        // the released geometry: 20x20 frames, 10x10 windows, 5-token shift; sampled query rows (all keys)
        int grid = 20;
        int frameLength = grid * grid;
        int text = 7;
        for (boolean shifted : new boolean[] {false, true}) {
            for (boolean wrap : new boolean[] {false, true}) {
                AttentionMask m = new AttentionMask(4, text, 0, 1.4f, false, 3 * frameLength, 0, frameLength, grid,
                        Scope.WINDOW, !wrap, 10, shifted ? 5 : 0, wrap);
                for (int q : new int[] {0, 1, 4, 5, 9, 10, 14, 15, 19, 20, 95, 105, 199, 205, 399}) {
                    for (int k = 0; k < text + 4 * frameLength; k++) {
                        assertThat(m.visible(q, k)).as("q " + q + " k " + k + " of " + m).isEqualTo(bruteVisible(m, q, k));
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- hand-checked boundary rows

    @Test
    void textKeysPaddingAndTextQueries() {
        // 3 text slots, the first 2 left padding; queries include the text
        AttentionMask m = new AttentionMask(1, 3, 2, 0f, true, 0, 0, 4, 2, Scope.OWN_FRAME, false, 0, 0, false);
        // pad query 0: sees the pad keys and the real text key, no frame key
        assertThat(m.visible(0, 0)).isTrue();
        assertThat(m.visible(0, 1)).isTrue();
        assertThat(m.visible(0, 2)).isTrue();
        assertThat(m.visible(0, 3)).isFalse();
        // real text query 2: only the real text key
        assertThat(m.visible(2, 0)).isFalse();
        assertThat(m.visible(2, 1)).isFalse();
        assertThat(m.visible(2, 2)).isTrue();
        assertThat(m.visible(2, 3)).isFalse();
        // frame query 3 (position 0): real text and its own frame (not causal: every cell of frame 0), not the pads
        assertThat(m.visible(3, 0)).isFalse();
        assertThat(m.visible(3, 2)).isTrue();
        for (int k = 3; k < 7; k++) {
            assertThat(m.visible(3, k)).as("key " + k).isTrue();
        }
        assertThat(m.visible(3, 7)).as("first key of frame 1").isFalse();
        assertThat(m.isTextQuery(2)).isTrue();
        assertThat(m.isTextQuery(3)).isFalse();
        assertThat(m.queryPosition(3)).isZero();
    }

    @Test
    void causalBoundaryIsInclusive() {
        // a step query at position 5 sees key position 5 (itself) but not 6
        AttentionMask m = new AttentionMask(1, 2, 0, 0f, false, 5, 0, 4, 2, Scope.ALL_FRAMES, true, 0, 0, false);
        assertThat(m.visible(0, 2 + 5)).isTrue();
        assertThat(m.visible(0, 2 + 6)).isFalse();
        assertThat(m.visible(0, 2)).isTrue(); // frame position 0, an earlier frame
        assertThat(m.visible(0, 0)).isTrue(); // text
    }

    @Test
    void ownFrameUsesKeyFrameStart() {
        // limited spatial cache: key row T is frame position 8 (frame 2 of 2x2 frames), query at position 10
        AttentionMask m = new AttentionMask(1, 1, 0, 0f, false, 10, 8, 4, 2, Scope.OWN_FRAME, true, 0, 0, false);
        assertThat(m.visible(0, 1)).isTrue();  // position 8
        assertThat(m.visible(0, 3)).isTrue();  // position 10, itself
        assertThat(m.visible(0, 4)).isFalse(); // position 11, later
        AttentionMask earlier = m.withFrameStarts(10, 4); // key rows from position 4 (frame 1)
        assertThat(earlier.visible(0, 1)).isFalse(); // position 4, previous frame
        assertThat(earlier.visible(0, 1 + 4)).isTrue(); // position 8
    }

    @Test
    void shiftedWindowsWrapOrClipAtTheBorder() {
        // grid 4, window 2, shift 1: rolled tiles are cells {1,2} and {3,0} on each axis
        AttentionMask wrap = new AttentionMask(1, 0, 0, 0f, false, 0, 0, 16, 4, Scope.WINDOW, false, 2, 1, true);
        AttentionMask clip = new AttentionMask(1, 0, 0, 0f, false, 0, 0, 16, 4, Scope.WINDOW, false, 2, 1, false);
        int cornerA = 0;           // (0, 0)
        int cornerB = 3 * 4 + 3;   // (3, 3)
        int middle = 1 * 4 + 2;    // (1, 2)
        int middle2 = 2 * 4 + 1;   // (2, 1)
        assertThat(wrap.visible(cornerA, cornerB)).as("wrap-around joins (0,0) and (3,3)").isTrue();
        assertThat(clip.visible(cornerA, cornerB)).as("the region mask separates (0,0) and (3,3)").isFalse();
        assertThat(wrap.visible(middle, middle2)).isTrue();
        assertThat(clip.visible(middle, middle2)).isTrue();
        assertThat(clip.visible(cornerA, 1)).as("(0,0) and (0,1) are in different clipped windows").isFalse();
        // shift 0: plain tiles {0,1} and {2,3}, wrap-around irrelevant
        for (boolean w : new boolean[] {false, true}) {
            AttentionMask plain = new AttentionMask(1, 0, 0, 0f, false, 0, 0, 16, 4, Scope.WINDOW, false, 2, 0, w);
            assertThat(plain.visible(0, 5)).isTrue();   // (0,0) and (1,1)
            assertThat(plain.visible(0, 2)).isFalse();  // (0,0) and (0,2)
            assertThat(plain.visible(0, 16)).isTrue();  // (0,0) of frame 1: windows span frames
        }
    }

    @Test
    void rowThatSeesNothing() {
        // all text is padding and the frame keys start after the (causal) query: the row sees no key at all
        AttentionMask m = new AttentionMask(1, 1, 1, 0f, false, 0, 4, 4, 2, Scope.ALL_FRAMES, true, 0, 0, false);
        for (int k = 0; k < 1 + 4; k++) {
            assertThat(m.visible(0, k)).as("key " + k).isFalse();
        }
        assertThat(m.visible(1, 0)).as("text key is padding").isFalse();
        assertThat(m.withFrameStarts(4, 4).visible(0, 1)).as("same query at position 4 sees key position 4").isTrue();
    }

    @Test
    void constructorRejectsBadGeometryNamingTheValues() {
        assertThatThrownBy(() -> new AttentionMask(0, 0, 0, 0f, false, 0, 0, 4, 2, Scope.OWN_FRAME, false, 0, 0, false))
                .isExactlyInstanceOf(CogVideoException.class).hasMessage("heads must be >= 1, got 0");
        assertThatThrownBy(() -> new AttentionMask(1, 2, 3, 0f, false, 0, 0, 4, 2, Scope.OWN_FRAME, false, 0, 0, false))
                .hasMessage("need 0 <= textPadding <= textLength, got textPadding=3, textLength=2");
        assertThatThrownBy(() -> new AttentionMask(1, 0, 0, 0f, false, 0, 0, 5, 2, Scope.OWN_FRAME, false, 0, 0, false))
                .hasMessage("frameLength must be grid*grid, got frameLength=5, grid=2");
        assertThatThrownBy(() -> new AttentionMask(1, 0, 0, 0f, false, -1, 0, 4, 2, Scope.OWN_FRAME, false, 0, 0, false))
                .hasMessage("frame starts must be >= 0, got queryFrameStart=-1, keyFrameStart=0");
        assertThatThrownBy(() -> new AttentionMask(1, 0, 0, 0f, false, 0, 0, 16, 4, Scope.WINDOW, false, 3, 0, false))
                .hasMessage("windowSize must divide the frame grid 4, got 3");
        assertThatThrownBy(() -> new AttentionMask(1, 0, 0, 0f, false, 0, 0, 16, 4, Scope.WINDOW, false, 2, 2, false))
                .hasMessage("shift must be 0 or half the window (2 / 2), got 2");
        // a shift other than half a window would make the wrapped and the clipped partitions disagree
        assertThatThrownBy(() -> new AttentionMask(1, 0, 0, 0f, false, 0, 0, 64, 8, Scope.WINDOW, false, 4, 1, false))
                .hasMessage("shift must be 0 or half the window (4 / 2), got 1");
    }

    // ---------------------------------------------------------------- named factories vs the old positional calls

    private static void assertSameFields(String what, AttentionMask actual, AttentionMask old) {
        assertThat(actual.heads()).as(what + ": heads").isEqualTo(old.heads());
        assertThat(actual.textLength()).as(what + ": textLength").isEqualTo(old.textLength());
        assertThat(actual.textPadding()).as(what + ": textPadding").isEqualTo(old.textPadding());
        assertThat(actual.textBoost()).as(what + ": textBoost").isEqualTo(old.textBoost());
        assertThat(actual.queriesIncludeText()).as(what + ": queriesIncludeText").isEqualTo(old.queriesIncludeText());
        assertThat(actual.queryFrameStart()).as(what + ": queryFrameStart").isEqualTo(old.queryFrameStart());
        assertThat(actual.keyFrameStart()).as(what + ": keyFrameStart").isEqualTo(old.keyFrameStart());
        assertThat(actual.frameLength()).as(what + ": frameLength").isEqualTo(old.frameLength());
        assertThat(actual.grid()).as(what + ": grid").isEqualTo(old.grid());
        assertThat(actual.scope()).as(what + ": scope").isEqualTo(old.scope());
        assertThat(actual.causal()).as(what + ": causal").isEqualTo(old.causal());
        assertThat(actual.windowSize()).as(what + ": windowSize").isEqualTo(old.windowSize());
        assertThat(actual.shift()).as(what + ": shift").isEqualTo(old.shift());
        assertThat(actual.wrapAround()).as(what + ": wrapAround").isEqualTo(old.wrapAround());
        assertThat(actual).as(what).isEqualTo(old);
    }

    @Test
    void factoriesReproduceTheMasksCogVideoModelBuiltBefore() {
        int heads = 4;
        int grid = 20;
        int L = grid * grid;
        int window = 10;
        for (int T : new int[] {9, 14}) {
            for (float boost : new float[] {0f, 1.4f}) {
                for (int stage = 1; stage <= 2; stage++) {
                    // uncached spatial channel (5d526ac CogVideoModel.prefill)
                    assertSameFields("spatialPrefill stage " + stage,
                            AttentionMask.spatialPrefill(heads, T, grid, boost, stage == 1),
                            new AttentionMask(heads, T, 0, boost, true, 0, 0, L, grid, Scope.OWN_FRAME, stage == 1,
                                    0, 0, false));
                }
                for (int p : new int[] {0, 1, L - 1, L, 3 * L + 17}) {
                    for (int baseFrameStart : new int[] {0, p / L * L}) {
                        // cached spatial channel (5d526ac CogVideoModel.step)
                        assertSameFields("spatialStep p=" + p,
                                AttentionMask.spatialStep(heads, T, grid, boost, p, baseFrameStart),
                                new AttentionMask(heads, T, 0, boost, false, p, baseFrameStart, L, grid,
                                        Scope.OWN_FRAME, true, 0, 0, false));
                    }
                    // plusMaskStep, stage 1
                    assertSameFields("stage1PlusStep p=" + p, AttentionMask.stage1PlusStep(heads, T, grid, boost, p),
                            new AttentionMask(heads, T, 0, boost, false, p, 0, L, grid, Scope.ALL_FRAMES, true, 0, 0,
                                    false));
                    for (int layer = 0; layer < 4; layer++) {
                        int shift = layer % 2 == 1 ? window / 2 : 0;
                        // plusMaskStep, stage 2
                        assertSameFields("stage2WindowStep p=" + p + " layer " + layer,
                                AttentionMask.stage2WindowStep(heads, T, grid, boost, p, window, layer % 2 == 1),
                                new AttentionMask(heads, T, 0, boost, false, p, 0, L, grid, Scope.WINDOW, true,
                                        window, shift, false));
                    }
                }
            }
            // plusMaskPrefill, stage 1 (no boost)
            assertSameFields("stage1PlusPrefill", AttentionMask.stage1PlusPrefill(heads, T, grid),
                    new AttentionMask(heads, T, 0, 0f, false, 0, 0, L, grid, Scope.ALL_FRAMES, true, 0, 0, false));
            for (int layer = 0; layer < 4; layer++) {
                int shift = layer % 2 == 1 ? window / 2 : 0;
                // plusMaskPrefill, stage 2 (no boost, wrap-around)
                assertSameFields("stage2WindowPrefill layer " + layer,
                        AttentionMask.stage2WindowPrefill(heads, T, grid, window, layer % 2 == 1),
                        new AttentionMask(heads, T, 0, 0f, false, 0, 0, L, grid, Scope.WINDOW, false, window, shift,
                                true));
            }
        }
    }

    @Test
    void superResolutionFactoryReproducesTheMaskDsrModelBuiltBefore() {
        for (int textPadding : new int[] {0, 5, 95}) {
            int heads = 16;
            int textSlots = 96;
            int lowResGrid = 20;
            // 5d526ac DsrModel.forward
            assertSameFields("superResolutionBase padding " + textPadding,
                    AttentionMask.superResolutionBase(heads, textSlots, textPadding, lowResGrid),
                    new AttentionMask(heads, textSlots, textPadding, 0f, true, 0, 0, lowResGrid * lowResGrid,
                            lowResGrid, Scope.OWN_FRAME, false, 0, 0, false));
        }
    }
}
