package io.cogvideo.generation;

import io.cogvideo.Cancellation;
import io.cogvideo.GenerationCancelledException;
import io.cogvideo.GenerationListener;
import io.cogvideo.GenerationProgress;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import java.time.Duration;

/**
 * Progress reporting and cancellation checks of one request: the stage that runs, its step counts, and the last
 * finished result, which a cancellation carries. Belongs to the request's thread.
 */
final class Progress {
    private final GenerationListener listener;
    private final Cancellation cancellation;
    private final int maxBatch;
    private GenerationStage stage;
    private int perSequence;
    private long start;
    private Video partial;

    Progress(GenerationListener listener, Cancellation cancellation, int maxBatch) {
        this.listener = listener;
        this.cancellation = cancellation;
        this.maxBatch = maxBatch;
    }

    /** A stage starts whose sequences take {@code stepsPerSequence} steps each; checks for cancellation first. */
    void begin(GenerationStage s, int stepsPerSequence) {
        this.stage = s;
        this.perSequence = stepsPerSequence;
        this.start = System.nanoTime();
        check();
    }

    /** Wall time since the current stage began. */
    Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** The result a cancellation from now on carries. */
    void partial(Video v) {
        this.partial = v;
    }

    /**
     * Steps of a stage of {@code totalSequences} sequences run in batches one after another: the token steps of each
     * batch, counted from the first batch ({@code batchStart} is the batch's first sequence).
     */
    FrameFiller.StepObserver observer(int batchStart, int totalSequences) {
        int batches = (int) ((totalSequences + (long) maxBatch - 1) / maxBatch); // no overflow for a huge maxBatch
        int before = batchStart / maxBatch * perSequence;
        int total = batches * perSequence;
        return (done, perBatch) -> {
            check();
            listener.onProgress(new GenerationProgress(stage, before + done, total, elapsed()));
        };
    }

    /** Steps counted in frames, for stages that work a batch of frames at a time. */
    SuperResolution.BatchObserver frameObserver(int total) {
        return done -> {
            check();
            listener.onProgress(new GenerationProgress(stage, done, total, elapsed()));
        };
    }

    /** Throws {@link GenerationCancelledException} with the partial result if cancelled or interrupted. */
    void check() {
        if (cancellation.isCancelled() || Thread.currentThread().isInterrupted()) {
            boolean interrupted = Thread.interrupted();
            throw new GenerationCancelledException("generation cancelled during " + stage
                    + (interrupted ? " (thread interrupted)" : ""), partial);
        }
    }
}
