package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.TensorData;
import io.cogvideo.training.GradientSource;
import io.cogvideo.training.TrainableModel;
import io.cogvideo.training.TrainingExample;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A CogVideo stage checkpoint as {@link io.cogvideo.training.Trainer} trains it: float32 master values of every
 * parameter by state-dict key, the {@link CogVideoModel} built from them on a backend with the training pack, and
 * {@link CogVideoTraining} for loss and gradients. Updated parameters are uploaded again and the model rebuilt, so
 * what trains is exactly the model that generates.
 *
 * <p>Loading a checkpoint without the {@code mixins.*} tensors (a text-to-image model in the CogView2 role) initialises
 * them as the original's {@code reinit} does (spec §2.3, §2.6): the attention-plus qkv copied from the base qkv, its
 * dense N(0, 0.02) with zero bias (seeded), the mix logits 0 (α = 0.5), and the extra position table made of copies
 * of the image rows of the base table. Not thread-safe: one trainer drives it.
 */
public final class CogVideoTrainable implements TrainableModel, AutoCloseable {
    /** First row of the base position table that frame 0 (the image) uses ({@code 512}). */
    private static final int IMAGE_POSITION_ROW = CogVideoConfig.FRAME_POSITION_BASE;

    private final CogVideoConfig config;
    private final Backend backend;
    private final CogVideoTraining.Options options;
    private final Map<String, Object> modelConfig;
    private final Map<String, int[]> shapes;
    private final Map<String, float[]> values = new LinkedHashMap<>();
    private final Set<String> initialised;
    private CogVideoModel model;
    private long calls;

    private CogVideoTrainable(CogVideoConfig config, Backend backend, CogVideoTraining.Options options,
            Map<String, Object> modelConfig, StateDict sd, long initSeed) {
        this.config = config;
        this.backend = backend;
        this.options = options;
        this.modelConfig = Collections.unmodifiableMap(new LinkedHashMap<>(modelConfig));
        this.shapes = CogVideoTraining.parameterShapes(config);
        Set<String> missing = new java.util.LinkedHashSet<>();
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            if (sd.contains(e.getKey())) {
                values.put(e.getKey(), sd.require(e.getKey(), e.getValue()).toFloatArray());
            } else if (e.getKey().startsWith("mixins.")) {
                missing.add(e.getKey());
            } else {
                throw new CogVideoException("checkpoint " + sd.source() + " has no tensor '" + e.getKey()
                        + "': only the new channel (mixins.*) may be missing when training starts from an image model");
            }
        }
        this.initialised = Collections.unmodifiableSet(missing);
        reinit(missing, new SplittableRandom(initSeed));
        rebuild();
    }

    /**
     * Loads a stage checkpoint (SwissArmyTransformer folder or {@code model_config.json} + safetensors) for training
     * on {@code backend}, which must provide the {@link io.cogvideo.spi.TrainingOps} pack.
     *
     * @param initSeed seed of the N(0, 0.02) initialisation of a missing attention-plus dense layer
     */
    public static CogVideoTrainable load(Path checkpointDir, Backend backend, CogVideoTraining.Options options,
            long initSeed) {
        io.cogvideo.spi.OpPacks.require(backend, io.cogvideo.spi.TrainingOps.class, "training");
        try (SatCheckpoint ckpt = SatCheckpoint.open(checkpointDir)) {
            CogVideoConfig c = ckpt.parseConfig(CogVideoConfig::fromSatConfig);
            return new CogVideoTrainable(c, backend, options, ckpt.config(), ckpt.stateDict(), initSeed);
        }
    }

    /** The model as it stands (rebuilt after every {@link #setParameters}). */
    public CogVideoModel model() {
        return model;
    }

    /** The config of the checkpoint. */
    public CogVideoConfig config() {
        return config;
    }

    /** The {@code mixins.*} keys that were missing from the checkpoint and initialised by the original's rule. */
    public Set<String> initialisedKeys() {
        return initialised;
    }

    private void reinit(Set<String> keys, SplittableRandom rng) {
        int h = config.hiddenSize();
        for (String k : keys) {
            float[] v = new float[Math.toIntExact(TensorData.numel(shapes.get(k)))];
            if (k.startsWith("mixins.attention_plus.query_key_value.")) {
                // qkv.<i>.weight / .bias copied from the base channel of layer i
                String[] p = k.split("\\.");
                String base = "transformer.layers." + p[3] + ".attention.query_key_value." + p[4];
                System.arraycopy(values.get(base), 0, v, 0, v.length);
            } else if (k.startsWith("mixins.attention_plus.dense.") && k.endsWith(".weight")) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (0.02 * gaussian(rng));
                }
            } else if (k.equals("mixins.extra_position_embedding.position_embeddings.weight")) {
                float[] pos = values.get("transformer.position_embeddings.weight");
                int frame = config.frameLength();
                for (int r = 0; r < config.additionalSeqLen(); r++) {
                    System.arraycopy(pos, (IMAGE_POSITION_ROW + r % frame) * h, v, r * h, h);
                }
            }
            // dense biases and attn_distribution (the mix logits) stay 0
            values.put(k, v);
        }
    }

    private static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    private void rebuild() {
        CogVideoModel old = model;
        WeightSource src = (key, shape) -> {
            float[] v = values.get(key);
            if (v == null) {
                throw new CogVideoException("no parameter '" + key + "'");
            }
            return TensorData.ofFloats(key, v, shape);
        };
        model = new CogVideoModel(config, CogVideoWeights.load(config, src, backend), backend);
        if (old != null) {
            old.weights().close();
        }
    }

    @Override
    public Map<String, int[]> parameterShapes() {
        return shapes;
    }

    @Override
    public float[] parameter(String key) {
        float[] v = values.get(key);
        if (v == null) {
            throw new CogVideoException("unknown parameter '" + key + "'; the model's keys are " + shapes.keySet());
        }
        return v.clone();
    }

    @Override
    public void setParameters(Map<String, float[]> updates) {
        for (Map.Entry<String, float[]> e : updates.entrySet()) {
            float[] v = values.get(e.getKey());
            if (v == null || e.getValue().length != v.length) {
                throw new CogVideoException("parameter '" + e.getKey() + "': " + (v == null ? "unknown key"
                        : e.getValue().length + " values for " + v.length + " elements"));
            }
            System.arraycopy(e.getValue(), 0, v, 0, v.length);
        }
        if (!updates.isEmpty()) {
            rebuild();
        }
    }

    @Override
    public Set<String> recipeTrainableKeys() {
        return CogVideoTraining.plusChannelKeys(config);
    }

    @Override
    public Map<String, Object> modelConfig() {
        return modelConfig;
    }

    @Override
    public GradientSource.Step lossAndGradients(List<TrainingExample> rows, Set<String> trainableKeys) {
        // a new dropout seed per call, from the options' seed (irrelevant without dropout)
        CogVideoTraining.Result r = new CogVideoTraining(model, options).lossAndGradients(rows, trainableKeys,
                options.seed() * 0x9E3779B97F4A7C15L + calls++);
        double[] logged = r.loggedFrameLosses().values().stream().mapToDouble(Double::doubleValue).toArray();
        return new GradientSource.Step(r.loss(), logged, r.gradients());
    }

    /** Releases the weights on the backend (the backend stays open). */
    @Override
    public void close() {
        if (model != null) {
            model.weights().close();
            model = null;
        }
    }
}
