package io.cogvideo.training;

import java.util.Map;
import java.util.Set;

/**
 * A model {@link Trainer} can train: its parameters by state-dict key, the trainable set of the paper's recipe, its
 * architecture for checkpoints, and its {@link GradientSource}. Implementations hold the weights wherever they compute
 * (a backend); the trainer keeps float32 master copies of the trainable ones and pushes updates back.
 */
public interface TrainableModel extends GradientSource {

    /** Every parameter's shape by state-dict key, in checkpoint order (unmodifiable). */
    Map<String, int[]> parameterShapes();

    /** The current float32 values of {@code key}, flat row-major (a copy). */
    float[] parameter(String key);

    /**
     * Replaces the values of the given parameters (flat row-major float32, the parameter's length). The arrays
     * belong to the caller: read them during the call, keep no reference.
     */
    void setParameters(Map<String, float[]> values);

    /**
     * The keys the paper's finetuning recipe trains (spec §2.1): for CogVideo every {@code mixins.*} key (the
     * attention-plus channel, the extra position table and α); everything inherited stays frozen.
     */
    Set<String> recipeTrainableKeys();

    /**
     * The architecture as {@code model_config.json} holds it (SwissArmyTransformer argument names), written beside
     * the weights of every checkpoint so that the SDK loads it.
     */
    Map<String, Object> modelConfig();
}
