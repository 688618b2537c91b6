package io.cogvideo.generation;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import java.util.random.RandomGenerator;

/**
 * The generation loop of one model call, equivalent to the original {@code my_filling_sequence}: an uncached pass
 * over the text and the given frame blocks, then one cached step per token, in lock-step for a batch of sequences.
 * Input block {@code k} is {@code [<start_of_image>, F_k[0..L-2]]}, so the logits at slot {@code j} of block
 * {@code k} predict {@code F_k[j]}.
 */
final class FrameFiller {

    /** What to run. */
    record Job(
            CogVideoModel model,
            SequenceOptions options,
            int[][] text,            // [B][T] conditional text prefixes (same T)
            int[][] guiderText,      // [B][Tg] or null: classifier-free guidance branch (boost 0)
            double guidanceAlpha,
            int[][][] frames,        // [B][frameCount][L]: given blocks filled, the rest overwritten
            int givenBlocks,         // blocks 0..givenBlocks-1 are given
            int startOfImage,        // id fed in the first slot of every frame block
            TokenSampler firstFrameSampler, // for block 0 when it is generated (image mode)
            TokenSampler sampler,
            RandomGenerator[] rngs,  // one per sequence
            StepObserver observer) {
    }

    /** Called after every generated token of the batch; may throw to cancel. */
    interface StepObserver {
        void afterStep(int done, int total);
    }

    private FrameFiller() {
    }

    static void run(Job job) {
        CogVideoModel model = job.model();
        Backend backend = model.backend();
        int fl = model.config().frameLength();
        int blocks = job.frames()[0].length;
        int batch = job.text().length;
        int T = job.text()[0].length;
        int stage = job.options().stage();
        int soi = job.startOfImage();
        int vocab = model.config().imageVocabSize();
        int total = (blocks - job.givenBlocks()) * fl;
        if (blocks > model.config().frameCount()) {
            throw new CogVideoException(blocks + " frames requested; the model holds " + model.config().frameCount());
        }
        try (InferenceState cond = model.newState(batch, T, job.options());
                InferenceState guid = job.guiderText() == null ? null
                        : model.newState(batch, job.guiderText()[0].length, new SequenceOptions(stage,
                                job.options().windowSize(), 0f, job.options().imageMode(),
                                job.options().limitedBaseCache()))) {
            float[] logits = prefill(model, cond, job.text(), job.frames(), job.givenBlocks(), soi, stage, fl);
            float[] gLogits = guid == null ? null
                    : prefill(model, guid, job.guiderText(), job.frames(), job.givenBlocks(), soi, stage, fl);
            int done = 0;
            for (int k = job.givenBlocks(); k < blocks; k++) {
                for (int j = 0; j < fl; j++) {
                    // As the original (counter < text_len + 400), the first frame's sampler serves every token of
                    // frame 0 but its last, which the main sampler draws.
                    TokenSampler sampler = k == 0 && job.options().imageMode() && j < fl - 1
                            ? job.firstFrameSampler() : job.sampler();
                    // feed the slot (k, j) and sample F_k[j]
                    int[] in = new int[batch];
                    for (int b = 0; b < batch; b++) {
                        in[b] = j == 0 ? soi : job.frames()[b][k][j - 1];
                    }
                    int index = T + k * fl + j;
                    logits = toHost(backend, model.step(cond, in, SequenceLayout.position(stage, T, fl, index)));
                    if (guid != null) {
                        int gT = job.guiderText()[0].length;
                        int gIndex = gT + k * fl + j;
                        gLogits = toHost(backend, model.step(guid, in, SequenceLayout.position(stage, gT, fl, gIndex)));
                    }
                    for (int b = 0; b < batch; b++) {
                        float[] row = java.util.Arrays.copyOfRange(logits, b * vocab, (b + 1) * vocab);
                        if (gLogits != null) {
                            double a = job.guidanceAlpha();
                            for (int t = 0; t < vocab; t++) {
                                float g = gLogits[b * vocab + t];
                                row[t] = (float) (g + (row[t] - g) * a);
                            }
                        }
                        job.frames()[b][k][j] = sampler.sample(row, 0, vocab, job.rngs()[b]);
                    }
                    done++;
                    job.observer().afterStep(done, total);
                }
            }
        }
    }

    private static float[] prefill(CogVideoModel model, InferenceState s, int[][] text, int[][][] frames, int given,
            int soi, int stage, int fl) {
        int batch = text.length;
        int T = text[0].length;
        int n = T + given * fl;
        int[][] ids = new int[batch][n];
        for (int b = 0; b < batch; b++) {
            if (text[b].length != T) {
                throw new CogVideoException("all sequences of a batch need the same text length");
            }
            System.arraycopy(text[b], 0, ids[b], 0, T);
            for (int k = 0; k < given; k++) {
                ids[b][T + k * fl] = soi;
                System.arraycopy(frames[b][k], 0, ids[b], T + k * fl + 1, fl - 1);
            }
        }
        Tensor t = model.prefill(s, ids, SequenceLayout.positions(stage, T, fl, n), new int[] {n - 1});
        return toHost(model.backend(), t);
    }

    private static float[] toHost(Backend backend, Tensor t) {
        try (t) {
            return backend.toFloats(t);
        }
    }
}
