package io.cogvideo.generation;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.DsrConfig;
import io.cogvideo.model.DsrModel;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * CogView2's direct super-resolution as CogVideo applies it after stage 2 ({@code sr_pipeline/direct_sr.py}): every
 * frame is lifted on its own, conditioned on the prompt tokens, in one forward pass; each high-res token is drawn by
 * the cluster sampler at temperature 1 over the top 6 clusters, inside the cluster at temperature 0.6 (the original's
 * hard-coded recipe; configurable here). Immutable and thread-safe.
 */
public final class SuperResolution {
    /** The original DSR recipe: cluster temperature 1.0, 6 clusters, in-cluster temperature 0.6. */
    public static final double TEMPERATURE = 1.0;
    public static final int TOP_K_CLUSTERS = 6;
    public static final double IN_CLUSTER_TEMPERATURE = 0.6;
    private static final int LOGIT_CHUNK = 600;

    private final DsrModel model;
    private final int startOfImage;
    private final TokenSampler sampler;

    /**
     * @param model        the DSR model
     * @param startOfImage id of {@code <start_of_image>}, the placeholder of every high-res slot
     * @param sampler      per-token sampler (see {@link #defaultSampler})
     */
    public SuperResolution(DsrModel model, int startOfImage, TokenSampler sampler) {
        this.model = model;
        this.startOfImage = startOfImage;
        this.sampler = sampler;
    }

    /** The original recipe over a cluster table, or plain top-k sampling at temperature 0.6 without one. */
    public static TokenSampler defaultSampler(int[] clusterTable) {
        return clusterTable != null
                ? new ClusterSampler(clusterTable, TEMPERATURE, TOP_K_CLUSTERS, IN_CLUSTER_TEMPERATURE)
                : new TopKTopPSampler(IN_CLUSTER_TEMPERATURE, 300, 0);
    }

    public DsrConfig config() {
        return model.config();
    }

    /** Observer of finished batches; may throw to cancel. */
    public interface BatchObserver {
        void afterBatch(int framesDone);
    }

    /**
     * Lifts frames of {@code lowResTokens} tokens to {@code highResTokens} tokens each.
     *
     * @param frames   low-res token grids (row-major)
     * @param prompt   prompt token ids (no duration prefix, no suffix); shorter than the text slots
     * @param rngs     one generator per frame
     * @param maxBatch frames per forward pass
     */
    public List<int[]> lift(List<int[]> frames, int[] prompt, RandomGenerator[] rngs, int maxBatch,
            BatchObserver observer) {
        DsrConfig c = model.config();
        int T = c.textSlots();
        if (prompt.length >= T) {
            throw new CogVideoException("super-resolution needs a prompt of fewer than " + T + " tokens, got "
                    + prompt.length);
        }
        int pad = T - prompt.length;
        int[] positions = c.positions(pad);
        int n = c.sequenceLength();
        int lo = c.lowResTokens();
        int hi = c.highResTokens();
        int vocab = c.imageVocabSize();
        Backend backend = model.backend();
        List<int[]> out = new ArrayList<>(frames.size());
        for (int from = 0; from < frames.size(); from += maxBatch) {
            int b = Math.min(maxBatch, frames.size() - from);
            int[][] ids = new int[b][n];
            for (int i = 0; i < b; i++) {
                int[] f = frames.get(from + i);
                if (f.length != lo) {
                    throw new CogVideoException("super-resolution input frame has " + f.length + " tokens, expected " + lo);
                }
                // pads are id 0, as the original
                System.arraycopy(prompt, 0, ids[i], pad, prompt.length);
                System.arraycopy(f, 0, ids[i], T, lo);
                java.util.Arrays.fill(ids[i], T + lo, n, startOfImage);
            }
            int[][] lifted = new int[b][hi];
            try (Tensor hidden = model.forward(ids, positions, pad)) {
                for (int r = 0; r < hi; r += LOGIT_CHUNK) {
                    int count = Math.min(LOGIT_CHUNK, hi - r);
                    float[] l;
                    try (Tensor t = model.logits(hidden, T + lo + r, count)) {
                        l = backend.toFloats(t);
                    }
                    for (int i = 0; i < b; i++) {
                        for (int k = 0; k < count; k++) {
                            lifted[i][r + k] = sampler.sample(l, (i * count + k) * vocab, vocab, rngs[from + i]);
                        }
                    }
                }
            }
            for (int[] f : lifted) {
                out.add(f);
            }
            observer.afterBatch(from + b);
        }
        return out;
    }
}
