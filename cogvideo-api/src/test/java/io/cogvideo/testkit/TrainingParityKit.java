package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.training.TrainingExample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Golden parity of training (loss, per-frame losses, token losses and the gradient of every parameter) against the
 * ORIGINAL training model, run by every backend with a training pack (subclass it and provide a backend). Data-driven:
 * the set comes from {@code -Dcogvideo.golden.train=DIR} (default {@code ../shared/golden/train-tiny-a}); every case
 * of its manifest becomes a test; a missing set skips with the reason. Tolerances are the set's own
 * ({@code manifest.json → tolerance}): loss and per-frame losses 1e-5 relative, token losses 1e-4 absolute, each
 * gradient tensor {@code max abs err <= 1e-4 * max|golden| + 1e-8}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class TrainingParityKit {
    /** System property naming the golden training set. */
    public static final String PROPERTY = "cogvideo.golden.train";

    protected GoldenSet golden;
    protected Backend backend;
    protected CogVideoModel model;

    /** The backend under test (it must offer the TrainingOps pack). */
    protected abstract Backend newBackend();

    @BeforeAll
    void setUp() {
        Assumptions.assumeTrue(GoldenSet.available(PROPERTY, "train-tiny-a"),
                "golden training set not found (set -D" + PROPERTY + "=DIR or provide ../shared/golden/train-tiny-a)");
        golden = GoldenSet.fromProperty(PROPERTY, "train-tiny-a");
        backend = CheckedBackend.wrap(newBackend());
        Path ckptDir = golden.dir().resolve(golden.manifest().path("checkpoint").asText("checkpoint")).normalize();
        try (SatCheckpoint ckpt = SatCheckpoint.open(ckptDir)) {
            CogVideoConfig config = CogVideoConfig.fromSatConfig(ckpt.config());
            model = new CogVideoModel(config, CogVideoWeights.load(config, ckpt.stateDict()::require, backend),
                    backend);
        }
    }

    @AfterAll
    void tearDown() {
        if (backend != null) {
            backend.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() {
        List<DynamicTest> tests = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = golden.manifest().path("cases").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> runCase(e.getKey(), e.getValue())));
        }
        return tests.stream();
    }

    /** The rows of a case, built from its stored input arrays. */
    protected List<TrainingExample> examples(JsonNode c) {
        JsonNode f = c.path("files");
        int stage = c.path("stage").asInt();
        var ids = golden.npy(f.path("input_ids").asText());
        int rows = ids.shape()[0];
        int n = ids.shape()[1];
        int[] input = ids.ints();
        int[] labels = golden.npy(f.path("labels").asText()).ints();
        float[] mask = golden.npy(f.path("loss_mask").asText()).floats();
        int[] pos = golden.npy(f.path("position_ids").asText()).ints();
        float[] totxt = golden.npy(f.path("attention_mask_totxt").asText()).floats();
        int text = totxt.length / rows;
        List<TrainingExample> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int pad = 0;
            while (pad < text && totxt[r * text + pad] == 0f) {
                pad++;
            }
            for (int j = pad; j < text; j++) {
                assertThat(totxt[r * text + j]).as("row %d: pads must be leading (text slot %d)", r, j).isEqualTo(1f);
            }
            out.add(new TrainingExample(stage, slice(input, r, n), slice(labels, r, n), slice(mask, r, n),
                    slice(pos, r, n), pad));
        }
        return out;
    }

    private void runCase(String name, JsonNode c) {
        int window = c.path("window_size").asInt(-1);
        CogVideoTraining training = new CogVideoTraining(model, new CogVideoTraining.Options(
                window > 0 ? window : 10, 0f, 0f, 0L));
        List<TrainingExample> rows = examples(c);
        Map<String, int[]> shapes = CogVideoTraining.parameterShapes(model.config());
        long t0 = System.nanoTime();
        long c0 = processCpuNanos();
        CogVideoTraining.Result r = training.lossAndGradients(rows, shapes.keySet());
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpu = (processCpuNanos() - c0) / 1e9;
        System.out.printf("training parity %s: forward+backward of %d rows (every parameter) in %.2f s wall, %.2f s"
                + " process CPU, on %s%n", name, rows.size(), seconds, cpu, backend.name());
        JsonNode f = c.path("files");
        // losses
        double loss = c.path("loss").asDouble();
        assertThat(Math.abs(r.loss() - loss) / Math.abs(loss)).as("%s: loss %s vs golden %s", name, r.loss(), loss)
                .isLessThanOrEqualTo(1e-5);
        assertThat(r.lossMaskSum()).as("%s: loss mask sum", name).isEqualTo(c.path("loss_mask_sum").asDouble());
        Map<String, Double> logged = r.loggedFrameLosses();
        JsonNode pf = c.path("per_frame_losses");
        List<String> order = new ArrayList<>();
        c.path("per_frame_loss_keys_order").forEach(k -> order.add(k.asText()));
        assertThat(new ArrayList<>(logged.keySet())).as("%s: logged per-frame loss names", name).isEqualTo(order);
        for (String k : order) {
            double g = pf.path(k).asDouble();
            assertThat(Math.abs(logged.get(k) - g) / Math.abs(g)).as("%s: %s %s vs golden %s", name, k,
                    logged.get(k), g).isLessThanOrEqualTo(1e-5);
        }
        float[] tokenLosses = golden.npy(f.path("token_losses").asText()).floats();
        int per = tokenLosses.length / rows.size();
        double worstToken = 0;
        for (int row = 0; row < rows.size(); row++) {
            for (int i = 0; i < per; i++) {
                worstToken = Math.max(worstToken, Math.abs(r.tokenLosses()[row][i] - tokenLosses[row * per + i]));
            }
        }
        assertThat(worstToken).as("%s: token losses max abs error", name).isLessThanOrEqualTo(1e-4);
        // gradients
        double worstRatio = 0;
        String worstKey = null;
        Iterator<Map.Entry<String, JsonNode>> g = f.path("grads").fields();
        int compared = 0;
        while (g.hasNext()) {
            Map.Entry<String, JsonNode> e = g.next();
            float[] gold = golden.npy(e.getValue().asText()).floats();
            float[] got = r.gradients().get(e.getKey());
            assertThat(got).as("%s: gradient of %s", name, e.getKey()).isNotNull().hasSize(gold.length);
            double ratio = compare(name, e.getKey(), gold, got, null);
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worstKey = e.getKey();
            }
            compared++;
        }
        Iterator<Map.Entry<String, JsonNode>> gp = f.path("grads_partial").fields();
        while (gp.hasNext()) {
            Map.Entry<String, JsonNode> e = gp.next();
            int[] rowsIdx = golden.npy(e.getValue().path("rows").asText()).ints();
            float[] gold = golden.npy(e.getValue().path("values").asText()).floats();
            float[] full = r.gradients().get(e.getKey());
            int width = gold.length / rowsIdx.length;
            float[] got = new float[gold.length];
            for (int i = 0; i < rowsIdx.length; i++) {
                System.arraycopy(full, rowsIdx[i] * width, got, i * width, width);
            }
            double ratio = compare(name, e.getKey() + " (stored rows)", gold, got, rowsIdx);
            if (ratio > worstRatio) {
                worstRatio = ratio;
                worstKey = e.getKey();
            }
            compared++;
        }
        assertThat(compared).as("%s: gradient tensors compared", name).isEqualTo(shapes.size());
        System.out.printf("training parity %s: loss %.9f (golden %.9f), %d gradient tensors, worst err/tol %.4f (%s)%n",
                name, r.loss(), loss, compared, worstRatio, worstKey);
    }

    /** Asserts the gradient rule; returns max abs error / allowed. */
    private static double compare(String name, String key, float[] gold, float[] got, int[] rows) {
        double maxGold = 0;
        double maxErr = 0;
        int at = -1;
        for (int i = 0; i < gold.length; i++) {
            maxGold = Math.max(maxGold, Math.abs(gold[i]));
            double err = Math.abs((double) got[i] - gold[i]);
            if (err > maxErr) {
                maxErr = err;
                at = i;
            }
        }
        double tol = 1e-4 * maxGold + 1e-8;
        assertThat(maxErr).as("%s: gradient of %s: max abs error %s at %d (got %s, golden %s), allowed %s", name, key,
                maxErr, at, at < 0 ? 0 : got[at], at < 0 ? 0 : gold[at], tol).isLessThanOrEqualTo(tol);
        return maxErr / tol;
    }

    /** CPU time of this JVM (all threads), or 0 where the platform does not report it. */
    public static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    private static int[] slice(int[] a, int row, int n) {
        int[] out = new int[n];
        System.arraycopy(a, row * n, out, 0, n);
        return out;
    }

    private static float[] slice(float[] a, int row, int n) {
        float[] out = new float[n];
        System.arraycopy(a, row * n, out, 0, n);
        return out;
    }
}
