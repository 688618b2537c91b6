package io.cogvideo.training;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A synthetic {@link TrainableModel} for trainer tests: three parameters (two "mixins.*" keys the recipe trains, one
 * frozen "transformer.*" key) and the loss {@code mean over rows of sum 0.5 (p - target(row))^2}, where each row's
 * target is derived from its label ids. Deterministic; counts what the trainer pushes.
 */
final class QuadraticModel implements TrainableModel {
    static final Map<String, int[]> SHAPES;

    static {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("transformer.frozen.weight", new int[] {5});
        m.put("mixins.plus.weight", new int[] {3, 4});
        m.put("mixins.alpha", new int[] {2});
        SHAPES = Collections.unmodifiableMap(m);
    }

    final Map<String, float[]> params = new LinkedHashMap<>();
    final Map<String, Integer> pushes = new LinkedHashMap<>();

    QuadraticModel() {
        int n = 0;
        for (Map.Entry<String, int[]> e : SHAPES.entrySet()) {
            float[] p = new float[(int) io.cogvideo.spi.TensorData.numel(e.getValue())];
            for (int i = 0; i < p.length; i++) {
                p[i] = (float) Math.cos(++n);
            }
            params.put(e.getKey(), p);
        }
    }

    static float target(TrainingExample row, String key, int i) {
        int[] labels = row.labels();
        int v = labels[Math.floorMod(i * 7 + key.hashCode(), labels.length)];
        return (Math.floorMod(v, 13) - 6) / 6f;
    }

    @Override
    public Step lossAndGradients(List<TrainingExample> rows, Set<String> trainableKeys) {
        double loss = 0;
        Map<String, float[]> grads = new LinkedHashMap<>();
        for (String k : trainableKeys) {
            grads.put(k, new float[params.get(k).length]);
        }
        for (TrainingExample r : rows) {
            for (Map.Entry<String, float[]> e : params.entrySet()) {
                float[] p = e.getValue();
                float[] g = grads.get(e.getKey());
                for (int i = 0; i < p.length; i++) {
                    double d = p[i] - target(r, e.getKey(), i);
                    loss += 0.5 * d * d;
                    if (g != null) {
                        g[i] += (float) (d / rows.size());
                    }
                }
            }
        }
        return new Step(loss / rows.size(), new double[] {loss}, grads);
    }

    @Override
    public Map<String, int[]> parameterShapes() {
        return SHAPES;
    }

    @Override
    public float[] parameter(String key) {
        return params.get(key).clone();
    }

    @Override
    public void setParameters(Map<String, float[]> values) {
        values.forEach((k, v) -> {
            float[] p = params.get(k);
            if (p == null || p.length != v.length) {
                throw new IllegalArgumentException("bad parameter " + k);
            }
            System.arraycopy(v, 0, p, 0, v.length);
            pushes.merge(k, 1, Integer::sum);
        });
    }

    @Override
    public Set<String> recipeTrainableKeys() {
        return Set.of("mixins.plus.weight", "mixins.alpha");
    }

    @Override
    public Map<String, Object> modelConfig() {
        return Map.of("model_class", "QuadraticModel", "hidden_size", 4);
    }

    /** Fixed examples of layout (4 text slots, 2x2 frames, 3 frames) with seeded random tokens. */
    static List<TrainingExample> examples(int n, long seed) {
        TrainingLayout l = new TrainingLayout(4, 4, 3, 97, 98);
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        List<TrainingExample> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[][] frames = new int[3][4];
            for (int[] f : frames) {
                Arrays.setAll(f, j -> r.nextInt(90));
            }
            out.add(l.build(new int[] {90 + r.nextInt(5), 95}, frames, 1));
        }
        return out;
    }
}
