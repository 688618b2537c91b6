package io.cogvideo.generation;

import io.cogvideo.CogVideoException;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Plain temperature / top-k / nucleus (top-p) sampling, for image vocabularies without a cluster table.
 * {@code topK = 0} and {@code topP = 0} disable the respective filter. Immutable and thread-safe.
 */
public final class TopKTopPSampler implements TokenSampler {
    private final double temperature;
    private final int topK;
    private final double topP;

    public TopKTopPSampler(double temperature, int topK, double topP) {
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new CogVideoException("temperature must be > 0, got " + temperature);
        }
        if (topK < 0) {
            throw new CogVideoException("topK must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP >= 0 && topP <= 1)) {
            throw new CogVideoException("topP must be in [0, 1] (0 = off), got " + topP);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
    }

    @Override
    public int sample(float[] logits, int offset, int length, RandomGenerator rng) {
        Integer[] order = new Integer[length];
        for (int i = 0; i < length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[offset + b], logits[offset + a]));
        int keep = topK > 0 ? Math.min(topK, length) : length;
        double max = logits[offset + order[0]] / temperature;
        double[] w = new double[keep];
        double sum = 0;
        for (int j = 0; j < keep; j++) {
            w[j] = Math.exp(logits[offset + order[j]] / temperature - max);
            sum += w[j];
        }
        if (topP > 0) {
            double cum = 0;
            int cut = keep;
            for (int j = 0; j < keep; j++) {
                cum += w[j] / sum;
                if (cum > topP) {
                    cut = j + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int j = 0; j < keep; j++) {
                sum += w[j];
            }
        }
        double u = rng.nextDouble() * sum;
        for (int j = 0; j < keep; j++) {
            u -= w[j];
            if (u < 0) {
                return order[j];
            }
        }
        return order[keep - 1];
    }
}
