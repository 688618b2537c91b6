package io.cogvideo.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.testkit.GoldenSet;
import org.junit.jupiter.api.Test;

/**
 * Position ids of stage-1 and stage-2 sequences, with expectations written from the specification
 * ({@code cogvideo-spec.md} §1.4 "Exact sequence layouts", §2.6 "Position embeddings", §3.1 table of sequence
 * blocks), not from the implementation, and checked against the position ids the original code fed in the golden set.
 */
class SequenceLayoutTest {
    /** §1.4: frames of 20x20 = 400 tokens. */
    private static final int L = 400;

    @Test
    void textPositionsCountFromZeroInBothStages() {
        // §2.6: "text: positions 0 … T-1"
        for (int stage = 1; stage <= 2; stage++) {
            for (int i = 0; i < 14; i++) {
                assertThat(SequenceLayout.position(stage, 14, L, i)).as("stage " + stage + " text index " + i)
                        .isEqualTo(i);
            }
        }
    }

    @Test
    void stage1FrameKOccupies512Plus400k() {
        // §2.6: "frame k (temporal index) occupies positions 512 + 400k … 512 + 400k + 399; position 512+400k is the
        // <start_of_image> slot of that frame block"; §1.4: the block of frame k starts at index text_len + 400k
        int T = 14;
        for (int k = 0; k < 5; k++) {
            assertThat(SequenceLayout.position(1, T, L, T + 400 * k)).as("<start_of_image> slot of frame " + k)
                    .isEqualTo(512 + 400 * k);
            assertThat(SequenceLayout.position(1, T, L, T + 400 * k + 399)).as("last slot of frame " + k)
                    .isEqualTo(512 + 400 * k + 399);
        }
        // the whole stage-1 sequence is one run 512 ... 2511 after the text
        int[] p = SequenceLayout.positions(1, T, L, T + 5 * L);
        for (int i = T; i < p.length; i++) {
            assertThat(p[i]).isEqualTo(512 + (i - T));
        }
    }

    @Test
    void stage2BlocksKeepTheirTemporalSlots() {
        // §3.1 table: sequence block -> position ids (temporal slot)
        int[][] table = {
            {0, 512, 911},   // parent frame 2i, slot 0
            {1, 1312, 1711}, // parent frame 2i+1, slot 2
            {2, 2112, 2511}, // parent frame 2i+2, slot 4
            {3, 912, 1311},  // generated, slot 1
            {4, 1712, 2111}, // generated, slot 3
        };
        for (int T : new int[] {11, 20}) {
            for (int[] row : table) {
                int first = T + row[0] * L;
                assertThat(SequenceLayout.position(2, T, L, first)).as("T=" + T + " block " + row[0] + " first")
                        .isEqualTo(row[1]);
                assertThat(SequenceLayout.position(2, T, L, first + 399)).as("T=" + T + " block " + row[0] + " last")
                        .isEqualTo(row[2]);
                for (int j = 0; j < L; j++) {
                    assertThat(SequenceLayout.position(2, T, L, first + j)).isEqualTo(row[1] + j);
                }
            }
        }
    }

    @Test
    void stage2WithOtherFrameSizesUsesSlotTimesFrameLength() {
        // the same rule for any frame size: block b at 512 + slot(b) * L + offset, slots 0, 2, 4, 1, 3
        int frame = 4;
        int T = 3;
        int[] slot = {0, 2, 4, 1, 3};
        int[] p = SequenceLayout.positions(2, T, frame, T + 5 * frame);
        for (int b = 0; b < 5; b++) {
            for (int j = 0; j < frame; j++) {
                assertThat(p[T + b * frame + j]).isEqualTo(512 + slot[b] * frame + j);
            }
        }
        assertThat(SequenceLayout.STAGE2_SLOTS).containsExactly(0, 2, 4, 1, 3);
    }

    @Test
    void stage2HasOnlyFiveBlocks() {
        assertThatThrownBy(() -> SequenceLayout.position(2, 11, L, 11 + 5 * L))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("5 blocks").hasMessageContaining("block 5");
    }

    @Test
    void stage1PositionsMatchTheOriginalCode() {
        GoldenSet golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        var c = golden.manifest().get("cases").get("s1_prefill");
        int[] expected = golden.npy(c.get("files").get("position_ids").asText()).ints();
        int textLen = c.get("text_len").asInt();
        assertThat(SequenceLayout.positions(1, textLen, L, expected.length)).containsExactly(expected);
    }
}
