package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.testkit.GoldenSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link TrainingLayout} against the original {@code process_fn} + {@code get_batch} (golden {@code train-tiny-a}, or
 * the set named by {@code -Dcogvideo.golden.train=DIR}): from {@code <case>_raw_rows.npy} it must reproduce
 * input ids, labels, loss mask, position ids and {@code attention_mask_totxt} exactly.
 */
class TrainingLayoutGoldenTest {
    private static final String PROPERTY = "cogvideo.golden.train";
    private static final String DEFAULT = "train-tiny-a";

    @TestFactory
    Stream<DynamicTest> rawRowsGiveTheOriginalBatch() {
        Assumptions.assumeTrue(GoldenSet.available(PROPERTY, DEFAULT),
                "golden set train-tiny-a is absent (../shared/golden/train-tiny-a or -D" + PROPERTY + "=DIR)");
        GoldenSet golden = GoldenSet.fromProperty(PROPERTY, DEFAULT);
        JsonNode m = golden.manifest();
        int[] layout = GoldenSet.ints(m.path("config").path("layout"));
        int frameLength = layout[1] - layout[0];
        TrainingLayout tl = new TrainingLayout(layout[0], frameLength, (layout[2] - layout[0]) / frameLength,
                m.path("special_ids").path("pad").asInt(), m.path("special_ids").path("start_of_image").asInt());
        List<DynamicTest> tests = new ArrayList<>();
        m.path("cases").fields().forEachRemaining(e -> {
            String name = e.getKey();
            int stage = e.getValue().path("stage").asInt();
            tests.add(DynamicTest.dynamicTest(name, () -> check(golden, tl, name, stage, e.getValue())));
        });
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }

    private static void check(GoldenSet g, TrainingLayout tl, String name, int stage, JsonNode c) {
        NpyArray rawArr = g.npy(name + "_raw_rows.npy");
        int rows = rawArr.shape()[0];
        int len = rawArr.shape()[1];
        assertThat(len).isEqualTo(tl.sequenceLength());
        int[] raw = rawArr.ints();
        int[] input = g.npy(name + "_input_ids.npy").ints();
        int[] labels = g.npy(name + "_labels.npy").ints();
        float[] mask = g.npy(name + "_loss_mask.npy").floats();
        int[] pos = g.npy(name + "_position_ids.npy").ints();
        float[] totxt = g.npy(name + "_attention_mask_totxt.npy").floats();
        int slots = tl.textSlots();
        for (int b = 0; b < rows; b++) {
            TrainingExample ex = tl.fromRawRow(Arrays.copyOfRange(raw, b * len, (b + 1) * len), stage);
            String row = name + " row " + b;
            assertThat(ex.stage()).isEqualTo(stage);
            assertThat(ex.inputIds()).as(row + " input_ids").containsExactly(slice(input, b, len));
            assertThat(ex.labels()).as(row + " labels").containsExactly(slice(labels, b, len));
            assertThat(ex.lossMask()).as(row + " loss_mask").containsExactly(slice(mask, b, len));
            assertThat(ex.positionIds()).as(row + " position_ids").containsExactly(slice(pos, b, len));
            assertThat(tl.attentionMaskToText(ex)).as(row + " attention_mask_totxt")
                    .containsExactly(slice(totxt, b, slots));
            JsonNode nPad = c.path("n_pad_per_row");
            if (nPad.isArray()) {
                assertThat(ex.textPadding()).as(row + " n_pad").isEqualTo(nPad.get(b).asInt());
            }
        }
        if (c.has("loss_mask_sum")) {
            double sum = 0;
            for (float f : mask) {
                sum += f;
            }
            assertThat(sum).isEqualTo(c.path("loss_mask_sum").asDouble());
        }
    }

    private static int[] slice(int[] a, int row, int len) {
        return Arrays.copyOfRange(a, row * len, (row + 1) * len);
    }

    private static float[] slice(float[] a, int row, int len) {
        return Arrays.copyOfRange(a, row * len, (row + 1) * len);
    }
}
