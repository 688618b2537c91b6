package io.cogvideo.generation;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.DsrConfig;
import io.cogvideo.model.DsrModel;
import io.cogvideo.spi.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * CogView2's direct super-resolution as CogVideo applies it after stage 2 ({@code sr_pipeline/direct_sr.py}): every
 * frame is lifted on its own, conditioned on the prompt tokens, in one forward pass; each high-res token is drawn by
 * the cluster sampler at temperature 1 over the top 6 clusters, inside the cluster at temperature 0.6 (the original's
 * hard-coded recipe; configurable here). It is also the pipeline's super-resolution stage ({@code run}), which lifts
 * every frame of a request. Immutable and thread-safe.
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

    /** The backend the DSR model runs on. */
    io.cogvideo.spi.Backend backend() {
        return model.backend();
    }

    /** Observer of finished batches; may throw to cancel. */
    public interface BatchObserver {
        void afterBatch(int framesDone);
    }

    /**
     * Checks that a prompt fits the model's text slots (before any work).
     *
     * @throws CogVideoException if it has {@code textSlots} tokens or more
     */
    public void checkPrompt(int[] prompt) {
        int slots = model.config().textSlots();
        if (prompt.length >= slots) {
            throw new CogVideoException("super-resolution needs a prompt of fewer than " + slots + " tokens, got "
                    + prompt.length + " (shorten the prompt or turn super-resolution off)");
        }
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
        checkPrompt(prompt);
        List<int[]> out = new ArrayList<>(frames.size());
        Batches.forEach(frames.size(), maxBatch, (from, size) -> {
            out.addAll(List.of(liftBatch(frames.subList(from, from + size), prompt, rngs, from)));
            observer.afterBatch(from + size);
        });
        return out;
    }

    /** The super-resolution stage of a request: every frame of every sample, in batches. */
    int[][][] run(RequestRun run, int[][][] frames) {
        List<int[]> all = new ArrayList<>();
        for (int[][] sample : frames) {
            all.addAll(List.of(sample));
        }
        run.begin(io.cogvideo.GenerationStage.SUPER_RESOLUTION, all.size());
        RandomGenerator[] g = run.rngs(SequenceRandom.SUPER_RESOLUTION, 0, all.size());
        List<int[]> lifted = lift(all, run.plan().text().prompt(), g, run.maxBatchSize(),
                run.progress().frameObserver(all.size()));
        int perSample = frames[0].length;
        int[][][] hi = new int[frames.length][perSample][];
        for (int i = 0; i < lifted.size(); i++) {
            hi[i / perSample][i % perSample] = lifted.get(i);
        }
        run.end();
        return hi;
    }

    /** One forward pass over a batch of frames; {@code rngs[from + i]} draws the tokens of frame {@code i}. */
    private int[][] liftBatch(List<int[]> batch, int[] prompt, RandomGenerator[] rngs, int from) {
        DsrConfig c = model.config();
        int textSlots = c.textSlots();
        int pad = textSlots - prompt.length;
        int lo = c.lowResTokens();
        int hi = c.highResTokens();
        int vocab = c.imageVocabSize();
        int b = batch.size();
        int[][] ids = new int[b][c.sequenceLength()];
        for (int i = 0; i < b; i++) {
            int[] f = batch.get(i);
            if (f.length != lo) {
                throw new CogVideoException("super-resolution input frame has " + f.length + " tokens, expected " + lo);
            }
            // pads are id 0, as the original
            System.arraycopy(prompt, 0, ids[i], pad, prompt.length);
            System.arraycopy(f, 0, ids[i], textSlots, lo);
            java.util.Arrays.fill(ids[i], textSlots + lo, c.sequenceLength(), startOfImage);
        }
        int[][] lifted = new int[b][hi];
        try (Tensor hidden = model.forward(ids, c.positions(pad), pad)) {
            for (int r = 0; r < hi; r += LOGIT_CHUNK) {
                int count = Math.min(LOGIT_CHUNK, hi - r);
                float[] l;
                try (Tensor t = model.logits(hidden, textSlots + lo + r, count)) {
                    l = model.backend().toFloats(t);
                }
                for (int i = 0; i < b; i++) {
                    for (int k = 0; k < count; k++) {
                        lifted[i][r + k] = sampler.sample(l, (i * count + k) * vocab, vocab, rngs[from + i]);
                    }
                }
            }
        }
        return lifted;
    }
}
