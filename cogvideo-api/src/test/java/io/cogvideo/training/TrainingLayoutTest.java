package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The layout at other sizes than 64 / 400 / 5, and the binary data rows. */
class TrainingLayoutTest {
    static final int PAD = 90;
    static final int SOI = 91;

    @Test
    void followsTheModelConfigSizes() {
        // 8 text slots, 3x3 frames, 3 frames
        CogVideoConfig c = new CogVideoConfig(1, 8, 2, 100, 1024, 64, 8, 9, 3, -1, 1, 80, 1e-5f);
        TrainingLayout l = new TrainingLayout(c.textSlots(), c.frameLength(), c.frameCount(), PAD, SOI);
        assertThat(l.sequenceLength()).isEqualTo(8 + 27);
        int[][] frames = {{0, 1, 2, 3, 4, 5, 6, 7, 8}, {10, 11, 12, 13, 14, 15, 16, 17, 18},
            {20, 21, 22, 23, 24, 25, 26, 27, 28}};
        TrainingExample e = l.build(new int[] {81, 82, PAD, 83}, frames, 1);
        assertThat(e.textPadding()).isEqualTo(5);
        assertThat(e.inputIds()).containsExactly(PAD, PAD, PAD, PAD, PAD, 81, 82, 83,
                SOI, 0, 1, 2, 3, 4, 5, 6, 7, SOI, 10, 11, 12, 13, 14, 15, 16, 17, SOI, 20, 21, 22, 23, 24, 25, 26, 27);
        assertThat(e.labels()).containsExactly(PAD, PAD, PAD, PAD, 81, 82, 83, SOI,
                0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28);
        float[] mask = e.lossMask();
        for (int i = 0; i < mask.length; i++) {
            assertThat(mask[i]).as("mask %d", i).isEqualTo(i >= 17 ? 1f : 0f);
        }
        assertThat(Arrays.copyOf(e.positionIds(), 10)).containsExactly(0, 0, 0, 0, 0, 0, 1, 2, 512, 513);
        assertThat(e.positionIds()[34]).isEqualTo(512 + 26);
        assertThat(l.attentionMaskToText(e)).containsExactly(0, 0, 0, 0, 0, 1, 1, 1);
        assertThat(l.lossFrames(2)).containsExactly(1);
        assertThat(l.build(new int[] {81}, frames, 2).lossTokens()).isEqualTo(9);
    }

    @Test
    void rawRowsRoundTripAndReadFromTheBinaryFormat(@TempDir Path dir) throws Exception {
        TrainingLayout l = new TrainingLayout(4, 4, 3, PAD, SOI);
        int[][] frames = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
        int[] row = l.rawRow(new int[] {70, 71}, frames);
        assertThat(row).containsExactly(PAD, 70, 71, PAD, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        assertThat(l.fromRawRow(row, 1)).isEqualTo(l.build(new int[] {70, 71}, frames, 1));
        int[] full = l.rawRow(new int[] {70, 71, 72, 73}, frames);
        assertThat(Arrays.copyOf(full, 4)).containsExactly(70, 71, 72, 73);

        ByteBuffer b = ByteBuffer.allocate(2 * 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : row) {
            b.putInt(v);
        }
        for (int v : full) {
            b.putInt(v);
        }
        Path bin = dir.resolve("data.bin");
        Files.write(bin, b.array());
        TrainingDataset ds = TrainingDataset.rawRows(bin, l, 1);
        assertThat(ds.size()).isEqualTo(2);
        assertThat(ds.example(0, 0)).isEqualTo(l.fromRawRow(row, 1));
        assertThat(ds.example(1, 99)).isEqualTo(l.fromRawRow(full, 1));
        Files.write(dir.resolve("bad.bin"), new byte[12]);
        assertThatThrownBy(() -> TrainingDataset.rawRows(dir.resolve("bad.bin"), l, 1))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("not a whole number of 16-token");
    }

    @Test
    void errorsNameTheValueAndTheAllowedRange() {
        TrainingLayout l = new TrainingLayout(4, 4, 3, PAD, SOI);
        assertThatThrownBy(() -> l.build(new int[5], new int[3][4], 1)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("text has 5 tokens; at most 4");
        assertThatThrownBy(() -> l.build(new int[1], new int[2][4], 1)).hasMessageContaining("expected 3 frames, got 2");
        assertThatThrownBy(() -> l.fromRawRow(new int[15], 1)).hasMessageContaining("must have 16 tokens");
        assertThatThrownBy(() -> l.lossFrames(3)).hasMessageContaining("stage = 3");
    }
}
