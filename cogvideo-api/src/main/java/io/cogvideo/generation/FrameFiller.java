package io.cogvideo.generation;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The generation loop of one model call, equivalent to the original {@code my_filling_sequence}: an uncached pass
 * over the text and the given frame blocks, then one cached step per token, in lock-step for a batch of sequences.
 * Input block {@code k} is {@code [<start_of_image>, F_k[0..L-2]]}, so the logits at slot {@code j} of block
 * {@code k} predict {@code F_k[j]}.
 */
final class FrameFiller {

    /**
     * What to run, the same for every batch of a stage; made with {@link #builder}.
     *
     * @param model             the model to call
     * @param options           stage, window, text boost, image mode
     * @param text              [T] the conditional text prefix, shared by every sequence of a batch
     * @param guiderText        [Tg] the classifier-free guidance branch (boost 0), or {@code null} for none
     * @param guidanceAlpha     guidance strength: {@code uncond + alpha (cond - uncond)}
     * @param givenBlocks       frame blocks {@code 0..givenBlocks-1} are given, the rest are generated
     * @param startOfImage      id fed in the first slot of every frame block
     * @param firstFrameSampler sampler of block 0 when it is generated in image mode
     * @param sampler           sampler of every other token
     */
    record Job(CogVideoModel model, SequenceOptions options, int[] text, int[] guiderText, double guidanceAlpha,
            int givenBlocks, int startOfImage, TokenSampler firstFrameSampler, TokenSampler sampler) {
    }

    /** A job for {@code model} with {@code options}: no guidance, no given blocks unless set. */
    static Builder builder(CogVideoModel model, SequenceOptions options) {
        return new Builder(model, options);
    }

    /** Builder of a {@link Job}; text, start-of-image id and samplers are required. */
    static final class Builder {
        private final CogVideoModel model;
        private final SequenceOptions options;
        private int[] text;
        private int[] guiderText;
        private double guidanceAlpha = 1;
        private int givenBlocks;
        private int startOfImage = -1;
        private TokenSampler firstFrameSampler;
        private TokenSampler sampler;

        private Builder(CogVideoModel model, SequenceOptions options) {
            this.model = Objects.requireNonNull(model, "model");
            this.options = Objects.requireNonNull(options, "options");
        }

        /** The conditional text prefix (without {@code <start_of_image>}). */
        Builder text(int[] prefix) {
            this.text = prefix.clone();
            return this;
        }

        /** Classifier-free guidance with this unconditional prefix and strength. */
        Builder guidance(int[] guiderPrefix, double alpha) {
            this.guiderText = guiderPrefix.clone();
            this.guidanceAlpha = alpha;
            return this;
        }

        /** Leading frame blocks that are given (not generated). */
        Builder givenBlocks(int n) {
            this.givenBlocks = n;
            return this;
        }

        Builder startOfImage(int id) {
            this.startOfImage = id;
            return this;
        }

        /** The sampler of a generated first frame (image mode) and the sampler of every other token. */
        Builder samplers(TokenSampler firstFrame, TokenSampler main) {
            this.firstFrameSampler = Objects.requireNonNull(firstFrame, "firstFrame");
            this.sampler = Objects.requireNonNull(main, "main");
            return this;
        }

        Job build() {
            if (text == null || text.length == 0 || startOfImage < 0 || sampler == null) {
                throw new IllegalStateException("a FrameFiller job needs a text prefix, the <start_of_image> id and "
                        + "samplers");
            }
            int frames = model.config().frameCount();
            if (givenBlocks < 0 || givenBlocks >= frames) {
                throw new IllegalStateException("givenBlocks must be in [0, " + frames + "), got " + givenBlocks);
            }
            return new Job(model, options, text, guiderText, guidanceAlpha, givenBlocks, startOfImage,
                    firstFrameSampler, sampler);
        }
    }

    /** Called after every generated token of the batch; may throw to cancel. */
    interface StepObserver {
        void afterStep(int done, int total);
    }

    private FrameFiller() {
    }

    /**
     * Runs {@code job} over one batch.
     *
     * @param frames   [B][blocks][L]: the given blocks filled; the others are overwritten with generated tokens
     * @param rngs     one generator per sequence
     * @param observer told after every generated token
     */
    static void run(Job job, int[][][] frames, RandomGenerator[] rngs, StepObserver observer) {
        CogVideoModel model = job.model();
        int fl = model.config().frameLength();
        int blocks = frames[0].length;
        int batch = frames.length;
        if (blocks > model.config().frameCount()) {
            throw new CogVideoException(blocks + " frames requested; the model holds " + model.config().frameCount());
        }
        int total = (blocks - job.givenBlocks()) * fl;
        try (InferenceState cond = model.newState(batch, job.text().length, job.options());
                InferenceState guid = job.guiderText() == null ? null
                        : model.newState(batch, job.guiderText().length, unboosted(job.options()))) {
            prefill(job, cond, job.text(), frames);
            if (guid != null) {
                prefill(job, guid, job.guiderText(), frames);
            }
            int done = 0;
            for (int k = job.givenBlocks(); k < blocks; k++) {
                for (int j = 0; j < fl; j++) {
                    int[] in = fed(job, frames, k, j);
                    float[] logits = step(job, cond, job.text().length, in, k, j);
                    float[] gLogits = guid == null ? null : step(job, guid, job.guiderText().length, in, k, j);
                    sample(job, frames, k, j, logits, gLogits, rngs);
                    done++;
                    observer.afterStep(done, total);
                }
            }
        }
    }

    /** The guidance branch's options: those of the job with text boost 0. */
    private static SequenceOptions unboosted(SequenceOptions o) {
        return new SequenceOptions(o.stage(), o.windowSize(), 0f, o.imageMode(), o.limitedBaseCache());
    }

    /** The token fed at slot {@code (k, j)} of every sequence: {@code <start_of_image>} or {@code F_k[j-1]}. */
    private static int[] fed(Job job, int[][][] frames, int k, int j) {
        int[] in = new int[frames.length];
        for (int b = 0; b < frames.length; b++) {
            in[b] = j == 0 ? job.startOfImage() : frames[b][k][j - 1];
        }
        return in;
    }

    /** One cached step at slot {@code (k, j)} of a state whose text prefix has {@code textLength} tokens. */
    private static float[] step(Job job, InferenceState state, int textLength, int[] in, int k, int j) {
        int fl = job.model().config().frameLength();
        int stage = job.options().stage();
        int index = textLength + k * fl + j;
        return toHost(job.model().backend(),
                job.model().step(state, in, SequenceLayout.position(stage, textLength, fl, index)));
    }

    /** Draws {@code F_k[j]} of every sequence, with guidance when a guidance branch ran. */
    private static void sample(Job job, int[][][] frames, int k, int j, float[] logits, float[] gLogits,
            RandomGenerator[] rngs) {
        int fl = job.model().config().frameLength();
        int vocab = job.model().config().imageVocabSize();
        // As the original (counter < text_len + 400), the first frame's sampler serves every token of frame 0 but
        // its last, which the main sampler draws.
        TokenSampler sampler = k == 0 && job.options().imageMode() && j < fl - 1 ? job.firstFrameSampler()
                : job.sampler();
        for (int b = 0; b < frames.length; b++) {
            float[] row = Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab);
            if (gLogits != null) {
                double a = job.guidanceAlpha();
                for (int t = 0; t < vocab; t++) {
                    float g = gLogits[b * vocab + t];
                    row[t] = (float) (g + (row[t] - g) * a);
                }
            }
            frames[b][k][j] = sampler.sample(row, 0, vocab, rngs[b]);
        }
    }

    /** The uncached pass over the text and the given blocks of every sequence (fills the caches). */
    private static void prefill(Job job, InferenceState s, int[] text, int[][][] frames) {
        CogVideoModel model = job.model();
        int fl = model.config().frameLength();
        int given = job.givenBlocks();
        int t = text.length;
        int n = t + given * fl;
        int[][] ids = new int[frames.length][n];
        for (int b = 0; b < frames.length; b++) {
            System.arraycopy(text, 0, ids[b], 0, t);
            for (int k = 0; k < given; k++) {
                ids[b][t + k * fl] = job.startOfImage();
                System.arraycopy(frames[b][k], 0, ids[b], t + k * fl + 1, fl - 1);
            }
        }
        Tensor logits = model.prefill(s, ids, SequenceLayout.positions(job.options().stage(), t, fl, n),
                new int[] {n - 1});
        toHost(model.backend(), logits);
    }

    private static float[] toHost(Backend backend, Tensor t) {
        try (t) {
            return backend.toFloats(t);
        }
    }
}
