package io.cogvideo.generation;

import java.util.function.IntFunction;

/**
 * The one batching helper of the pipeline: sequences run in consecutive batches of at most {@code maxBatchSize}, in
 * order. Batching never changes tokens, because every sequence draws from its own random generator (see
 * {@link SequenceRandom}).
 */
final class Batches {

    /** The work of one batch: sequences {@code [from, from + size)}. */
    @FunctionalInterface
    interface Body {
        void run(int from, int size);
    }

    private Batches() {
    }

    /** Runs {@code body} over {@code count} sequences in batches of at most {@code maxBatch}. */
    static void forEach(int count, int maxBatch, Body body) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        for (int from = 0; from < count; from += maxBatch) {
            body.run(from, Math.min(maxBatch, count - from));
        }
    }

    /**
     * Runs a {@link FrameFiller} job over {@code count} sequences, batch by batch, and returns the filled frames.
     *
     * @param run      the request (batch size, random streams, progress)
     * @param job      what to run
     * @param stream   the random stream of the stage ({@link SequenceRandom})
     * @param count    number of sequences
     * @param sequence the initial frame blocks of sequence {@code i}, {@code [blocks][L]} (given blocks filled; the
     *                 array is the caller's to give away)
     * @return [count][blocks][L] the sequences after generation
     */
    static int[][][] fill(RequestRun run, FrameFiller.Job job, int stream, int count, IntFunction<int[][]> sequence) {
        int[][][] out = new int[count][][];
        forEach(count, run.maxBatchSize(), (from, size) -> {
            int[][][] frames = new int[size][][];
            for (int i = 0; i < size; i++) {
                frames[i] = sequence.apply(from + i);
            }
            FrameFiller.run(job, frames, run.rngs(stream, from, size), run.progress().observer(from, count));
            System.arraycopy(frames, 0, out, from, size);
        });
        return out;
    }
}
