package io.cogvideo.training.vq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.generation.ClusterSampler;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterTableTest {
    @TempDir
    Path tmp;

    @Test
    void separatedBlobsGetOneLabelEachAndTheNpyReadsBack() {
        int k = 120;
        int d = 4;
        int c = 6;
        float[] cb = new float[k * d];
        SplittableRandom rnd = new SplittableRandom(5);
        for (int i = 0; i < k; i++) {
            int blob = i % c;
            for (int j = 0; j < d; j++) {
                cb[i * d + j] = (j == blob % d ? 10f * (1 + blob / d) : 0f) + (float) rnd.nextGaussian() * 0.1f;
            }
        }
        int[] labels = ClusterTable.kMeans(cb, k, d, c, 50, 1);
        assertThat(labels).hasSize(k);
        assertThat(java.util.Arrays.stream(labels).allMatch(l -> l >= 0 && l < c)).isTrue();
        for (int i = 0; i < k; i++) {
            // same blob, same cluster; different blobs, different clusters
            assertThat(labels[i]).isEqualTo(labels[i % c]);
        }
        assertThat(java.util.Arrays.stream(labels).distinct().count()).isEqualTo(c);
        assertThat(ClusterTable.kMeans(cb, k, d, c, 50, 1)).containsExactly(labels);

        Path npy = tmp.resolve("cluster_label2.npy");
        ClusterTable.writeNpy(npy, labels);
        assertThat(ClusterSampler.readTable(npy)).containsExactly(labels);
    }

    @Test
    void everyClusterIsNonEmptyEvenWithDuplicates() {
        float[] cb = new float[32 * 2]; // all zero: one point repeated
        cb[0] = 1;
        int[] labels = ClusterTable.kMeans(cb, 32, 2, 8, 10, 3);
        assertThat(java.util.Arrays.stream(labels).distinct().count()).isEqualTo(8);
        assertThatThrownBy(() -> ClusterTable.kMeans(cb, 32, 2, 33, 10, 3)).hasMessageContaining("clusters = 33");
    }
}
