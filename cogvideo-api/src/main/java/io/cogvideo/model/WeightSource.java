package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.TensorData;
import java.util.Arrays;
import java.util.Map;

/**
 * Where weights come from: a checkpoint's state dict, looked up by the original key names. Implementations check the
 * shape and fail with a message naming the key, the expected and the found shape
 * ({@code io.cogvideo.checkpoint.StateDict::require} fits).
 */
@FunctionalInterface
public interface WeightSource {

    /** The tensor stored under {@code key}, which must have exactly {@code shape}. */
    TensorData require(String key, int... shape);

    /** A source over an in-memory map (tests, converted weights). */
    static WeightSource of(Map<String, TensorData> map, String sourceName) {
        return (key, shape) -> {
            TensorData t = map.get(key);
            if (t == null) {
                throw new CogVideoException(sourceName + ": missing tensor '" + key + "'");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new CogVideoException(sourceName + ": tensor '" + key + "' has shape "
                        + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
            }
            return t;
        };
    }
}
