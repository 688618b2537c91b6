package io.cogvideo.training.vq;

import io.cogvideo.CogVideoException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The cluster table of a codebook, as CogVideo's {@code cluster_label2.npy}: k-means (k-means++ seeding, Lloyd
 * iterations, squared Euclidean distance) of the K code vectors into C clusters; entry {@code i} is the cluster of
 * image token {@code i}. The pipeline's cluster sampler reads it as an int64 {@code .npy} array [K].
 */
public final class ClusterTable {
    private ClusterTable() {
    }

    /**
     * Clusters the rows of {@code codebook} [K, D].
     *
     * @param clusters   C, in [1, K]
     * @param iterations Lloyd iterations (stops earlier when no label changes), at least 1
     * @return K labels in [0, C); every cluster is non-empty (an emptied cluster takes the point farthest from its
     *         centre)
     */
    public static int[] kMeans(float[] codebook, int k, int d, int clusters, int iterations, long seed) {
        if (k < 1 || d < 1 || (long) k * d != codebook.length) {
            throw new IllegalArgumentException("codebook has " + codebook.length + " values, not K * D = " + k + " * "
                    + d);
        }
        if (clusters < 1 || clusters > k) {
            throw new IllegalArgumentException("clusters = " + clusters + "; allowed: 1.." + k);
        }
        if (iterations < 1) {
            throw new IllegalArgumentException("iterations = " + iterations + "; allowed: >= 1");
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] centres = new double[clusters * d];
        // k-means++ seeding
        double[] nearest = new double[k];
        java.util.Arrays.fill(nearest, Double.POSITIVE_INFINITY);
        int first = rnd.nextInt(k);
        for (int c = 0; c < d; c++) {
            centres[c] = codebook[first * d + c];
        }
        for (int m = 1; m < clusters; m++) {
            double total = 0;
            for (int i = 0; i < k; i++) {
                nearest[i] = Math.min(nearest[i], dist(codebook, i, centres, m - 1, d));
                total += nearest[i];
            }
            int pick = k - 1;
            if (total > 0) {
                double u = rnd.nextDouble() * total;
                for (int i = 0; i < k; i++) {
                    u -= nearest[i];
                    if (u < 0) {
                        pick = i;
                        break;
                    }
                }
            } else {
                pick = rnd.nextInt(k);
            }
            for (int c = 0; c < d; c++) {
                centres[m * d + c] = codebook[pick * d + c];
            }
        }
        int[] labels = new int[k];
        java.util.Arrays.fill(labels, -1);
        for (int it = 0; it < iterations; it++) {
            boolean changed = false;
            for (int i = 0; i < k; i++) {
                int best = 0;
                double bestD = Double.POSITIVE_INFINITY;
                for (int m = 0; m < clusters; m++) {
                    double dd = dist(codebook, i, centres, m, d);
                    if (dd < bestD) {
                        bestD = dd;
                        best = m;
                    }
                }
                if (labels[i] != best) {
                    labels[i] = best;
                    changed = true;
                }
            }
            if (!changed && it > 0) {
                break;
            }
            int[] count = new int[clusters];
            java.util.Arrays.fill(centres, 0);
            for (int i = 0; i < k; i++) {
                count[labels[i]]++;
                for (int c = 0; c < d; c++) {
                    centres[labels[i] * d + c] += codebook[i * d + c];
                }
            }
            for (int m = 0; m < clusters; m++) {
                if (count[m] > 0) {
                    for (int c = 0; c < d; c++) {
                        centres[m * d + c] /= count[m];
                    }
                }
            }
            for (int m = 0; m < clusters; m++) {
                if (count[m] == 0) {
                    // an empty cluster takes the point farthest from its centre (from a cluster of 2 or more)
                    int far = -1;
                    double farD = -1;
                    for (int i = 0; i < k; i++) {
                        double dd = dist(codebook, i, centres, labels[i], d);
                        if (count[labels[i]] > 1 && dd > farD) {
                            farD = dd;
                            far = i;
                        }
                    }
                    count[labels[far]]--;
                    labels[far] = m;
                    count[m] = 1;
                    for (int c = 0; c < d; c++) {
                        centres[m * d + c] = codebook[far * d + c];
                    }
                    changed = true;
                }
            }
        }
        return labels;
    }

    private static double dist(float[] x, int i, double[] centres, int m, int d) {
        double s = 0;
        for (int c = 0; c < d; c++) {
            double diff = x[i * d + c] - centres[m * d + c];
            s += diff * diff;
        }
        return s;
    }

    /** Writes {@code labels} as an int64 {@code .npy} array [K] (format 1.0, little-endian), as cluster_label2.npy. */
    public static void writeNpy(Path file, int[] labels) {
        String header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + labels.length + ",), }";
        int total = 10 + header.length() + 1;
        header = header + " ".repeat((64 - total % 64) % 64) + "\n";
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + h.length + labels.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) h.length).put(h);
        for (int l : labels) {
            b.putLong(l);
        }
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            Files.write(file, b.array());
        } catch (IOException e) {
            throw new CogVideoException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
