package io.cogvideo.training;

import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.WeightSource;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.TensorData;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Speed of one forward + backward of the plain-Java training pack (a benchmark, not a timed test): the small config
 * (8 layers, hidden 512, 8 heads, vocabulary 20100, 12 text slots + 5 frames of 400 = 2012 tokens, stage 1) with the
 * original's freezing (only the attention-plus channel, the extra positions and α train) and random weights.
 * Runs only with {@code -Dcogvideo.bench.train=true}; prints wall time, process CPU time and heap in use.
 */
class TrainingSpeedBench {

    @Test
    void smallConfigStage1() {
        Assumptions.assumeTrue(Boolean.getBoolean("cogvideo.bench.train"), "benchmark: -Dcogvideo.bench.train=true");
        CogVideoConfig c = new CogVideoConfig(8, 512, 8, 20100, 1024, 2000, 12, 400, 5, -1, 1, 20000, 1e-5f);
        CheckedBackend backend = CheckedBackend.wrap(new ReferenceBackend());
        Random r = new Random(1);
        Map<String, TensorData> map = new HashMap<>();
        for (Map.Entry<String, int[]> e : CogVideoTraining.parameterShapes(c).entrySet()) {
            float[] v = new float[(int) TensorData.numel(e.getValue())];
            boolean norm = e.getKey().contains("layernorm.weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = norm ? 1f : 0.02f * (float) r.nextGaussian();
            }
            map.put(e.getKey(), TensorData.ofFloats(e.getKey(), v, e.getValue()));
        }
        CogVideoModel model = new CogVideoModel(c, CogVideoWeights.load(c, WeightSource.of(map, "random"), backend),
                backend);
        map.clear();
        int n = 2012;
        int[] ids = new int[n];
        int[] labels = new int[n];
        float[] mask = new float[n];
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i < 12 ? 20010 + r.nextInt(80) : r.nextInt(20000);
            labels[i] = r.nextInt(20000);
            mask[i] = i >= 12 + 400 ? 1f : 0f;
            pos[i] = i < 12 ? i : 512 + (i - 12);
        }
        TrainingExample row = new TrainingExample(1, ids, labels, mask, pos, 0);
        CogVideoTraining t = new CogVideoTraining(model, CogVideoTraining.Options.defaults());
        Set<String> keys = CogVideoTraining.plusChannelKeys(c);
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long wall = System.nanoTime();
        long cpu = io.cogvideo.testkit.TrainingParityKit.processCpuNanos();
        CogVideoTraining.Result res = t.lossAndGradients(List.of(row), keys);
        double wallS = (System.nanoTime() - wall) / 1e9;
        double cpuS = (io.cogvideo.testkit.TrainingParityKit.processCpuNanos() - cpu) / 1e9;
        System.out.printf("training bench small (8/512/8, %d tokens, stage 1, plus channel trains): loss %.4f,"
                + " forward+backward %.1f s wall, %.1f s process CPU, %d threads, heap in use after %.2f GiB,"
                + " %.0f tokens/s (wall)%n", n, res.loss(), wallS, cpuS, Runtime.getRuntime().availableProcessors(),
                (rt.totalMemory() - rt.freeMemory()) / (double) (1L << 30), n / wallS);
        backend.close();
    }
}
