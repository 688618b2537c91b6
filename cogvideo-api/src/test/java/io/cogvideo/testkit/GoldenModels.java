package io.cogvideo.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.WeightSource;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

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

    // TEMPORARY (development): weights from a numpy dump; replaced by the checkpoint reader.
    static WeightSource weights(GoldenSet set) {
        Path dir = Path.of(System.getProperty("cogvideo.dev.npy", "/tmp/ckpt_npy"));
        Map<String, TensorData> map = new HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.forEach(f -> {
                String name = f.getFileName().toString();
                map.put(name.substring(0, name.length() - 4), NpyArray.read(f).tensor());
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return WeightSource.of(map, dir.toString());
    }
}
