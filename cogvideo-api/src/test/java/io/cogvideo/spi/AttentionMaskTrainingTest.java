package io.cogvideo.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import org.junit.jupiter.api.Test;

/**
 * The training masks against the original's description ({@code cogvideo-spec.md} §1.3, §2.4, §2.5, §2.7) at the
 * released geometry: 64 text slots, 5 frames of 20x20, 10x10 windows shifted by 5 on odd layers.
 */
class AttentionMaskTrainingTest {
    private static final int T = 64;
    private static final int GRID = 20;
    private static final int L = 400;

    /** Key row of frame {@code f}, grid row {@code r}, column {@code c}. */
    private static int key(int f, int r, int c) {
        return T + f * L + r * GRID + c;
    }

    /** Frame-query row (queries without text) of frame {@code f}, row {@code r}, column {@code c}. */
    private static int frameQuery(int f, int r, int c) {
        return f * L + r * GRID + c;
    }

    @Test
    void fourteenArgumentMasksAreNotInterpolationMasks() {
        AttentionMask m = new AttentionMask(4, T, 0, 0f, false, 0, 0, L, GRID, AttentionMask.Scope.ALL_FRAMES, true,
                0, 0, false);
        assertThat(m.interpolation()).isFalse();
        assertThat(AttentionMask.stage2WindowTraining(4, T, 3, GRID, 10, true).withFrameStarts(0, 0).interpolation())
                .isTrue();
        assertThatThrownBy(() -> new AttentionMask(4, T, 0, 0f, false, 0, 0, L, GRID, AttentionMask.Scope.WINDOW,
                true, 10, 0, false, true)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("causal must be false");
    }

    @Test
    void padsAreHiddenAndTextSeesNoFrame() {
        AttentionMask base = AttentionMask.spatialTraining(4, T, 31, GRID);
        int firstFrameRow = T;
        assertThat(base.visible(firstFrameRow + 5, 30)).as("frame query, pad key").isFalse();
        assertThat(base.visible(firstFrameRow + 5, 31)).as("frame query, first real text key").isTrue();
        assertThat(base.visible(40, 30)).as("text query, pad key").isFalse();
        assertThat(base.visible(40, 63)).as("text sees all real text (bidirectional)").isTrue();
        assertThat(base.visible(40, T)).as("text query, frame key").isFalse();
        AttentionMask plus = AttentionMask.stage1PlusTraining(4, T, 31, GRID);
        assertThat(plus.visible(frameQuery(2, 0, 0), 30)).isFalse();
        assertThat(plus.visible(frameQuery(2, 0, 0), 31)).isTrue();
    }

    @Test
    void stage1() {
        AttentionMask base = AttentionMask.spatialTraining(4, T, 0, GRID);
        int q = T + 2 * L + 50; // frame 2, token 50
        assertThat(base.visible(q, T + 2 * L + 50)).isTrue();
        assertThat(base.visible(q, T + 2 * L + 51)).as("causal in its frame").isFalse();
        assertThat(base.visible(q, T + L + 10)).as("no other frame").isFalse();
        AttentionMask plus = AttentionMask.stage1PlusTraining(4, T, 0, GRID);
        int fq = frameQuery(2, 2, 10); // position 850
        assertThat(plus.visible(fq, key(0, 19, 19))).isTrue();
        assertThat(plus.visible(fq, key(1, 5, 5))).isTrue();
        assertThat(plus.visible(fq, key(2, 2, 10))).isTrue();
        assertThat(plus.visible(fq, key(2, 2, 11))).as("causal over all frames").isFalse();
        assertThat(plus.visible(fq, key(3, 0, 0))).isFalse();
    }

    @Test
    void stage2SpatialChannel() {
        AttentionMask base = AttentionMask.spatialInterpTraining(4, T, 0, GRID);
        for (int f = 0; f < 5; f++) {
            int q = T + f * L + 100;
            boolean given = f % 2 == 0;
            assertThat(base.visible(q, T + f * L + 300)).as("frame %d sees a later token of its frame", f)
                    .isEqualTo(given);
            assertThat(base.visible(q, T + f * L + 100)).isTrue();
            assertThat(base.visible(q, T + f * L + 7)).isTrue();
            for (int g = 0; g < 5; g++) {
                if (g != f) {
                    assertThat(base.visible(q, T + g * L + 7)).as("frame %d, other frame %d", f, g).isFalse();
                }
            }
        }
    }

    @Test
    void stage2PlusChannelInterpolationPattern() {
        AttentionMask even = AttentionMask.stage2WindowTraining(4, T, 0, GRID, 10, false);
        // token (3, 4) of each frame, key (3, 4) and a later in-window token (8, 8), and one outside the window
        boolean[][] seesSame = new boolean[5][5];
        boolean[][] seesLater = new boolean[5][5];
        for (int f = 0; f < 5; f++) {
            for (int g = 0; g < 5; g++) {
                seesSame[f][g] = even.visible(frameQuery(f, 3, 4), key(g, 3, 4));
                seesLater[f][g] = even.visible(frameQuery(f, 3, 4), key(g, 8, 8));
                assertThat(even.visible(frameQuery(f, 3, 4), key(g, 12, 4))).as("other window").isFalse();
            }
        }
        // given frames 0, 2, 4: see 0, 2, 4 (fully), never 1 or 3
        for (int f : new int[] {0, 2, 4}) {
            assertThat(seesLater[f]).as("frame %d", f).containsExactly(true, false, true, false, true);
        }
        // frame 1: 0, 2, 4 fully, itself causally, not 3
        assertThat(seesLater[1]).containsExactly(true, false, true, false, true);
        assertThat(seesSame[1]).containsExactly(true, true, true, false, true);
        // frame 3: 0, 2, 4 and all of 1, itself causally
        assertThat(seesLater[3]).containsExactly(true, true, true, false, true);
        assertThat(seesSame[3]).containsExactly(true, true, true, true, true);
    }

    @Test
    void shiftedTrainingWindowsAreClippedNotWrapped() {
        AttentionMask train = AttentionMask.stage2WindowTraining(4, T, 0, GRID, 10, true);
        AttentionMask wrap = AttentionMask.stage2WindowPrefill(4, T, GRID, 10, true);
        // rows/columns [0,5), [5,15), [15,20) in original coordinates
        assertThat(train.visible(frameQuery(0, 4, 4), key(0, 0, 0))).isTrue();
        assertThat(train.visible(frameQuery(0, 4, 4), key(0, 5, 4))).isFalse();
        assertThat(train.visible(frameQuery(0, 5, 5), key(0, 14, 14))).isTrue();
        assertThat(train.visible(frameQuery(0, 4, 4), key(0, 19, 19))).as("region mask, no wrap").isFalse();
        assertThat(train.visible(frameQuery(2, 17, 2), key(4, 19, 0))).isTrue();
        // the uncached inference pass of the original wraps around the border (cyclic roll, no region mask)
        int q = 3 * 0 + 4 * GRID + 4; // frame 0 of the given frames
        assertThat(wrap.visible(q, T + 19 * GRID + 19)).isTrue();
    }
}
