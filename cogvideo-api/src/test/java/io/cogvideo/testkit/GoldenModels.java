package io.cogvideo.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.WeightSource;
import io.cogvideo.spi.Backend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/** Loads the golden checkpoint of a set into a model on a backend. */
public final class GoldenModels {
    private GoldenModels() {
    }

    @SuppressWarnings("unchecked")
    public static CogVideoConfig config(GoldenSet set) {
        try {
            Map<String, Object> m = new ObjectMapper().readValue(
                    set.dir().resolve("checkpoint/model_config.json").toFile(), Map.class);
            return CogVideoConfig.fromSatConfig(m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static CogVideoModel load(GoldenSet set, Backend backend) {
        CogVideoConfig c = config(set);
        return new CogVideoModel(c, CogVideoWeights.load(c, weights(set), backend), backend);
    }

    /** The golden checkpoint, read by the project's own (safe) reader. */
    static WeightSource weights(GoldenSet set) {
        SatCheckpoint ckpt = SatCheckpoint.open(set.dir().resolve("checkpoint"));
        return ckpt.stateDict()::require;
    }
}
