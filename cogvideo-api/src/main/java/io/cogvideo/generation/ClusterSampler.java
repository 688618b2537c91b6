package io.cogvideo.generation;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.NpyArray;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * CogVideo's cluster-restricted sampler ({@code CoglmStrategy} of the original): the image vocabulary is partitioned
 * into clusters (500 for icetk's 20000 codes); a step
 * <ol>
 *   <li>takes {@code p = softmax(logits / temperature)} and each cluster's mass {@code P_c = Σ p_t};</li>
 *   <li>keeps the {@code topK} heaviest clusters and picks one with probability proportional to its mass;</li>
 *   <li>samples a token inside it from {@code softmax(logits / (temperature · temperature2))}.</li>
 * </ol>
 * Defaults of the released pipeline: temperature 1.05, 12 clusters, temperature2 0.89 (first frame: 1.0, 16).
 * Immutable and thread-safe.
 */
public final class ClusterSampler implements TokenSampler {
    /** Name of the bundled cluster table of icetk's image codes (from the original CogVideo repository). */
    public static final String BUNDLED_TABLE = "/io/cogvideo/assets/cluster_label2.npy";

    private final int[] clusterOf;
    private final int clusters;
    private final int[][] members;
    private final double temperature;
    private final int topK;
    private final double temperature2;

    /**
     * @param clusterOf    cluster id of every image token ({@code clusterOf.length} = image vocabulary)
     * @param temperature  {@code > 0}
     * @param topK         clusters kept, in {@code [1, number of clusters]}
     * @param temperature2 in-cluster temperature factor, {@code > 0}
     */
    public ClusterSampler(int[] clusterOf, double temperature, int topK, double temperature2) {
        if (clusterOf.length == 0) {
            throw new CogVideoException("cluster table is empty");
        }
        int max = -1;
        for (int i = 0; i < clusterOf.length; i++) {
            if (clusterOf[i] < 0 || clusterOf[i] >= clusterOf.length) {
                throw new CogVideoException("cluster table: token " + i + " has cluster id " + clusterOf[i]
                        + ", outside [0, " + clusterOf.length + ") (a table of " + clusterOf.length
                        + " tokens has at most that many clusters)");
            }
            max = Math.max(max, clusterOf[i]);
        }
        this.clusterOf = clusterOf.clone();
        this.clusters = max + 1;
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new CogVideoException("temperature must be > 0, got " + temperature);
        }
        if (!(temperature2 > 0) || !Double.isFinite(temperature2)) {
            throw new CogVideoException("temperature2 (in-cluster) must be > 0, got " + temperature2);
        }
        if (topK < 1 || topK > clusters) {
            throw new CogVideoException("topK (clusters) must be in [1, " + clusters + "], got " + topK);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.temperature2 = temperature2;
        int[] counts = new int[clusters];
        for (int c : clusterOf) {
            counts[c]++;
        }
        members = new int[clusters][];
        for (int c = 0; c < clusters; c++) {
            members[c] = new int[counts[c]];
        }
        int[] fill = new int[clusters];
        for (int t = 0; t < clusterOf.length; t++) {
            members[clusterOf[t]][fill[clusterOf[t]]++] = t;
        }
    }

    /**
     * Reads a cluster table ({@code int64 [imageVocab]}, as {@code cluster_label2.npy}; any integer dtype is
     * accepted). Every id is checked against the table's size before anything is allocated for it.
     *
     * @throws CogVideoException naming the file: not a 1-D array, empty, or an id outside {@code [0, entries)}
     *                           (with its index and value)
     */
    public static int[] readTable(Path npy) {
        NpyArray a = NpyArray.read(npy);
        if (a.shape().length != 1 || a.shape()[0] < 1) {
            throw new CogVideoException(npy + ": a cluster table is a non-empty 1-D array [image tokens], got shape "
                    + Arrays.toString(a.shape()));
        }
        return a.ints(0, a.shape()[0]);
    }

    /** The cluster table of icetk's 20000 image codes, bundled with the library. */
    public static int[] bundledTable() {
        try (InputStream in = ClusterSampler.class.getResourceAsStream(BUNDLED_TABLE)) {
            if (in == null) {
                throw new CogVideoException("bundled cluster table " + BUNDLED_TABLE + " is missing from the class path");
            }
            return NpyArray.parse(BUNDLED_TABLE, ByteBuffer.wrap(in.readAllBytes())).ints();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Same table, other temperatures / top-k. */
    public ClusterSampler with(double newTemperature, int newTopK, double newTemperature2) {
        return new ClusterSampler(clusterOf, newTemperature, newTopK, newTemperature2);
    }

    public int clusterCount() {
        return clusters;
    }

    public int vocabularySize() {
        return clusterOf.length;
    }

    /**
     * The distribution a step samples from: the kept clusters (heaviest first) and their normalised weights.
     *
     * @param clusterIds     kept cluster ids, heaviest first
     * @param clusterWeights their probabilities of being picked (sum 1)
     */
    public record Choice(int[] clusterIds, double[] clusterWeights) {
    }

    /**
     * Step 1-2 of the algorithm for one logit vector. Exact, but avoids most exponentials: a cluster's mass lies
     * between its largest term and that term times its size, so clusters whose upper bound falls below the k-th
     * largest lower bound cannot be among the top k and are skipped.
     */
    public Choice clusterChoice(float[] logits, int offset, int length) {
        checkLength(length);
        double[] cmax = new double[clusters];
        java.util.Arrays.fill(cmax, Double.NEGATIVE_INFINITY);
        for (int i = 0; i < length; i++) {
            double v = logits[offset + i] / temperature;
            int c = clusterOf[i];
            if (v > cmax[c]) {
                cmax[c] = v;
            }
        }
        return topClusters(candidateMasses(logits, offset, cmax));
    }

    /**
     * The mass of every cluster that can be among the top k (relative to the largest scaled logit), -1 for the
     * others.
     *
     * @param cmax each cluster's largest scaled logit
     */
    private double[] candidateMasses(float[] logits, int offset, double[] cmax) {
        double gmax = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < clusters; c++) {
            gmax = Math.max(gmax, cmax[c]);
        }
        // k-th largest lower bound (the cluster's largest term)
        double[] lower = new double[clusters];
        for (int c = 0; c < clusters; c++) {
            lower[c] = members[c].length == 0 ? 0 : Math.exp(cmax[c] - gmax);
        }
        double[] sortedLower = lower.clone();
        java.util.Arrays.sort(sortedLower);
        double kth = sortedLower[clusters - topK];
        double[] mass = new double[clusters];
        java.util.Arrays.fill(mass, -1);
        int candidates = 0;
        for (int c = 0; c < clusters; c++) {
            if (members[c].length > 0 && lower[c] * members[c].length >= kth) {
                double m = 0;
                for (int tok : members[c]) {
                    m += Math.exp(logits[offset + tok] / temperature - gmax);
                }
                mass[c] = m;
                candidates++;
            }
        }
        assert candidates >= Math.min(topK, clusters);
        return mass;
    }

    /** The {@code topK} heaviest clusters of {@code mass} (-1: not a candidate) and their normalised weights. */
    private Choice topClusters(double[] mass) {
        int[] ids = new int[topK];
        double[] w = new double[topK];
        boolean[] taken = new boolean[clusters];
        double kept = 0;
        for (int j = 0; j < topK; j++) {
            int best = -1;
            for (int c = 0; c < clusters; c++) {
                if (!taken[c] && mass[c] >= 0 && (best < 0 || mass[c] > mass[best])) {
                    best = c;
                }
            }
            if (best < 0) {
                // fewer non-empty clusters than topK: take empty ones with zero mass, lowest id first
                for (int c = 0; c < clusters && best < 0; c++) {
                    if (!taken[c]) {
                        best = c;
                    }
                }
                mass[best] = 0;
            }
            taken[best] = true;
            ids[j] = best;
            w[j] = mass[best];
            kept += w[j];
        }
        for (int j = 0; j < topK; j++) {
            w[j] /= kept;
        }
        return new Choice(ids, w);
    }

    /** Step 3: probabilities of every token of the vocabulary when {@code cluster} is picked (0 outside it). */
    public double[] tokenProbabilities(float[] logits, int offset, int length, int cluster) {
        checkLength(length);
        double t = temperature * temperature2;
        double max = Double.NEGATIVE_INFINITY;
        for (int tok : members[cluster]) {
            max = Math.max(max, logits[offset + tok] / t);
        }
        double[] p = new double[length];
        double sum = 0;
        for (int tok : members[cluster]) {
            p[tok] = Math.exp(logits[offset + tok] / t - max);
            sum += p[tok];
        }
        for (int tok : members[cluster]) {
            p[tok] /= sum;
        }
        return p;
    }

    @Override
    public int sample(float[] logits, int offset, int length, RandomGenerator rng) {
        Choice choice = clusterChoice(logits, offset, length);
        int cluster = choice.clusterIds()[pick(choice.clusterWeights(), rng.nextDouble())];
        double t = temperature * temperature2;
        int[] toks = members[cluster];
        double max = Double.NEGATIVE_INFINITY;
        for (int tok : toks) {
            max = Math.max(max, logits[offset + tok] / t);
        }
        double[] w = new double[toks.length];
        double sum = 0;
        for (int j = 0; j < toks.length; j++) {
            w[j] = Math.exp(logits[offset + toks[j]] / t - max);
            sum += w[j];
        }
        double u = rng.nextDouble() * sum;
        for (int j = 0; j < toks.length; j++) {
            u -= w[j];
            if (u < 0) {
                return toks[j];
            }
        }
        return toks[toks.length - 1];
    }

    private static int pick(double[] weights, double u) {
        for (int j = 0; j < weights.length; j++) {
            u -= weights[j];
            if (u < 0) {
                return j;
            }
        }
        return weights.length - 1;
    }

    private void checkLength(int length) {
        if (length != clusterOf.length) {
            throw new CogVideoException("logit vector has " + length + " entries but the cluster table covers "
                    + clusterOf.length + " image tokens");
        }
    }
}
