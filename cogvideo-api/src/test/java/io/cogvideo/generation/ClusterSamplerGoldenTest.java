package io.cogvideo.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.CogVideoException;
import io.cogvideo.testkit.GoldenSet;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The cluster-restricted sampler against the original {@code CoglmStrategy} (golden {@code sampler} cases). */
class ClusterSamplerGoldenTest {
    private static final GoldenSet GOLDEN = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
    private static final int[] TABLE = ClusterSampler.bundledTable();

    @TestFactory
    Stream<DynamicTest> samplerCases() {
        JsonNode cases = GOLDEN.manifest().path("cases").path("sampler");
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            tests.add(DynamicTest.dynamicTest("sampler " + i, () -> check(c)));
        }
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }

    private void check(JsonNode c) {
        JsonNode f = c.get("files");
        float[] logits = GOLDEN.npy(f.get("logits").asText()).floats();
        int[] ids = GOLDEN.npy(f.get("cluster_ids").asText()).ints();
        float[] weights = GOLDEN.npy(f.get("cluster_weights").asText()).floats();
        float[] inCluster = GOLDEN.npy(f.get("token_probs_in_top_cluster").asText()).floats();
        ClusterSampler s = new ClusterSampler(TABLE, c.get("temperature").asDouble(), c.get("top_k_clusters").asInt(),
                c.get("temperature2").asDouble());
        ClusterSampler.Choice choice = s.clusterChoice(logits, 0, logits.length);
        assertThat(choice.clusterIds()).containsExactly(ids);
        for (int j = 0; j < ids.length; j++) {
            assertThat(Math.abs(choice.clusterWeights()[j] - weights[j])).as("weight of cluster " + ids[j])
                    .isLessThanOrEqualTo(1e-6);
        }
        int top = c.get("top_cluster").asInt();
        assertThat(ids[0]).isEqualTo(top);
        double[] p = s.tokenProbabilities(logits, 0, logits.length, top);
        double worst = 0;
        for (int t = 0; t < p.length; t++) {
            worst = Math.max(worst, Math.abs(p[t] - inCluster[t]));
        }
        assertThat(worst).as("in-cluster token distribution").isLessThanOrEqualTo(1e-6);
    }

    /** Draws follow the two-level distribution: chi-square over 20,000 draws with a fixed seed. */
    @Test
    void drawsFollowTheDistribution() {
        JsonNode c = GOLDEN.manifest().path("cases").path("sampler").get(0);
        float[] logits = GOLDEN.npy(c.get("files").get("logits").asText()).floats();
        ClusterSampler s = new ClusterSampler(TABLE, c.get("temperature").asDouble(), c.get("top_k_clusters").asInt(),
                c.get("temperature2").asDouble());
        ClusterSampler.Choice choice = s.clusterChoice(logits, 0, logits.length);
        double[] expected = new double[logits.length];
        for (int j = 0; j < choice.clusterIds().length; j++) {
            double[] p = s.tokenProbabilities(logits, 0, logits.length, choice.clusterIds()[j]);
            for (int t = 0; t < p.length; t++) {
                expected[t] += choice.clusterWeights()[j] * p[t];
            }
        }
        int draws = 20_000;
        int[] counts = new int[logits.length];
        RandomGenerator rng = RandomGeneratorFactory.of("L64X128MixRandom").create(1234L);
        for (int i = 0; i < draws; i++) {
            counts[s.sample(logits, 0, logits.length, rng)]++;
        }
        // Pool tokens with small expected counts into one bin, as the chi-square approximation requires.
        double chi2 = 0;
        int bins = 0;
        double pooledE = 0;
        double pooledO = 0;
        for (int t = 0; t < expected.length; t++) {
            double e = expected[t] * draws;
            if (e >= 5) {
                chi2 += (counts[t] - e) * (counts[t] - e) / e;
                bins++;
            } else {
                pooledE += e;
                pooledO += counts[t];
            }
        }
        if (pooledE > 0) {
            chi2 += (pooledO - pooledE) * (pooledO - pooledE) / pooledE;
            bins++;
        }
        int dof = bins - 1;
        // Upper 0.1% point of chi-square via the Wilson-Hilferty approximation.
        double z = 3.09;
        double crit = dof * Math.pow(1 - 2.0 / (9 * dof) + z * Math.sqrt(2.0 / (9 * dof)), 3);
        assertThat(bins).isGreaterThan(10);
        assertThat(chi2).as("chi-square with " + dof + " degrees of freedom").isLessThan(crit);
        // Tokens outside the kept clusters are never drawn.
        for (int t = 0; t < counts.length; t++) {
            if (expected[t] == 0) {
                assertThat(counts[t]).isZero();
            }
        }
    }

    @Test
    void sameSeedSameTokens() {
        float[] logits = GOLDEN.npy(GOLDEN.manifest().path("cases").path("sampler").get(1).get("files").get("logits")
                .asText()).floats();
        ClusterSampler s = new ClusterSampler(TABLE, 1.05, 12, 0.89);
        int[] a = new int[50];
        int[] b = new int[50];
        RandomGenerator r1 = RandomGeneratorFactory.of("L64X128MixRandom").create(7L);
        RandomGenerator r2 = RandomGeneratorFactory.of("L64X128MixRandom").create(7L);
        for (int i = 0; i < 50; i++) {
            a[i] = s.sample(logits, 0, logits.length, r1);
            b[i] = s.sample(logits, 0, logits.length, r2);
        }
        assertThat(a).containsExactly(b);
    }

    @Test
    void rejectsBadSettings() {
        assertThatThrownBy(() -> new ClusterSampler(TABLE, 0, 12, 0.89)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("temperature must be > 0");
        assertThatThrownBy(() -> new ClusterSampler(TABLE, 1, 0, 0.89)).hasMessageContaining("[1, 500]");
        assertThatThrownBy(() -> new ClusterSampler(TABLE, 1, 501, 0.89)).hasMessageContaining("got 501");
        ClusterSampler s = new ClusterSampler(TABLE, 1, 5, 1);
        assertThatThrownBy(() -> s.clusterChoice(new float[10], 0, 10)).hasMessageContaining("20000");
    }
}
