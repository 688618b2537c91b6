package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoTrainable;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.spi.Backend;
import java.nio.file.Path;

/**
 * Opens CogVideo checkpoints for {@link Trainer}: the one model definition that generates, with the training op pack
 * of the backend ({@link io.cogvideo.spi.TrainingOps}; the CPU backend has it).
 *
 * <pre>{@code
 * try (Backend backend = Backends.create("cpu", new BackendOptions(0, DType.FLOAT32))) {
 *     TrainableModel model = TrainableModels.cogVideo(Path.of("my-image-model"), backend);
 *     new Trainer(model, dataset, TrainerOptions.defaults(Path.of("out")).withStage(1), listener).run();
 * }
 * }</pre>
 */
public final class TrainableModels {
    private TrainableModels() {
    }

    /** A stage checkpoint with no dropout; see {@link #cogVideo(Path, Backend, float, float, long)}. */
    public static TrainableModel cogVideo(Path checkpointDir, Backend backend) {
        return cogVideo(checkpointDir, backend, 0f, 0f, 0L);
    }

    /**
     * A stage checkpoint (SwissArmyTransformer folder or {@code model_config.json} + safetensors) as a trainable
     * model on {@code backend} (float32 weights recommended: {@code BackendOptions(threads, DType.FLOAT32)}). A
     * checkpoint without the attention-plus channel ({@code mixins.*}: a text-to-image model) gets it initialised as
     * the original does, so the paper's recipe (train only the new channel) starts from it.
     *
     * @param hiddenDropout    dropout after the embeddings and on each MLP output, in [0, 1) (the original: 0.1)
     * @param attentionDropout dropout of the attention probabilities, in [0, 1) (the original: 0.1)
     * @param seed             seed of the dropout masks and of the new channel's random initialisation
     * @throws CogVideoException if the backend lacks the training pack or the checkpoint does not fit
     */
    public static TrainableModel cogVideo(Path checkpointDir, Backend backend, float hiddenDropout,
            float attentionDropout, long seed) {
        if (checkpointDir == null || backend == null) {
            throw new CogVideoException("a checkpoint folder and a backend are required");
        }
        int window;
        try (SatCheckpoint ckpt = SatCheckpoint.open(checkpointDir)) {
            int w = ckpt.parseConfig(CogVideoConfig::fromSatConfig).windowSize();
            window = w > 0 ? w : 10; // stage-1 checkpoints say -1 (full attention); stage 2 uses 10x10 windows
        }
        return CogVideoTrainable.load(checkpointDir, backend,
                new CogVideoTraining.Options(window, hiddenDropout, attentionDropout, seed), seed);
    }
}
