package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.TensorData;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The state of {@link AdamW}: step count and the first and second moments of each parameter. Immutable (arrays are
 * copied in and out). Stored as a safetensors file: tensors {@code exp_avg.<key>} and {@code exp_avg_sq.<key>}
 * (float32, flat), metadata {@code step}.
 *
 * @param step     updates applied
 * @param expAvg   first moments by parameter key
 * @param expAvgSq second moments by parameter key (same keys and lengths)
 */
public record OptimizerState(long step, Map<String, float[]> expAvg, Map<String, float[]> expAvgSq) {
    private static final String M = "exp_avg.";
    private static final String V = "exp_avg_sq.";

    public OptimizerState {
        if (step < 0) {
            throw new CogVideoException("optimizer state: step = " + step + " is invalid; allowed: >= 0");
        }
        if (!expAvg.keySet().equals(expAvgSq.keySet())) {
            throw new CogVideoException("optimizer state: first and second moments have different keys");
        }
        Map<String, float[]> mc = new LinkedHashMap<>();
        Map<String, float[]> vc = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : expAvg.entrySet()) {
            float[] vv = expAvgSq.get(e.getKey());
            if (vv.length != e.getValue().length) {
                throw new CogVideoException("optimizer state: moments of '" + e.getKey() + "' differ in length: "
                        + e.getValue().length + " vs " + vv.length);
            }
            mc.put(e.getKey(), e.getValue().clone());
            vc.put(e.getKey(), vv.clone());
        }
        expAvg = Collections.unmodifiableMap(mc);
        expAvgSq = Collections.unmodifiableMap(vc);
    }

    /** Parameter keys with moments. */
    public Set<String> keys() {
        return expAvg.keySet();
    }

    /** First moment of {@code key} (a copy). */
    public float[] expAvg(String key) {
        return require(expAvg, key).clone();
    }

    /** Second moment of {@code key} (a copy). */
    public float[] expAvgSq(String key) {
        return require(expAvgSq, key).clone();
    }

    private static float[] require(Map<String, float[]> map, String key) {
        float[] a = map.get(key);
        if (a == null) {
            throw new CogVideoException("optimizer state: no moments for '" + key + "'");
        }
        return a;
    }

    /** Writes the state atomically to a safetensors file. */
    public void write(Path file) {
        Map<String, SafetensorsWriter.Entry> t = new LinkedHashMap<>();
        for (String k : expAvg.keySet()) {
            float[] a = expAvg.get(k);
            t.put(M + k, new SafetensorsWriter.Entry(a, a.length));
            float[] b = expAvgSq.get(k);
            t.put(V + k, new SafetensorsWriter.Entry(b, b.length));
        }
        SafetensorsWriter.write(file, t, Map.of("step", Long.toString(step), "format", "cogvideo-java adamw 1"));
    }

    /** Reads a state written by {@link #write(Path)}. */
    public static OptimizerState read(Path file) {
        Map<String, String> meta = SafetensorsWriter.readMetadata(file);
        String s = meta.get("step");
        if (s == null) {
            throw new CogVideoException(file + ": not an optimizer state (no 'step' metadata)");
        }
        long step;
        try {
            step = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new CogVideoException(file + ": optimizer step '" + s + "' is not a number");
        }
        Map<String, float[]> m = new LinkedHashMap<>();
        Map<String, float[]> v = new LinkedHashMap<>();
        try (StateDict sd = SafetensorsReader.read(file)) {
            for (Map.Entry<String, TensorData> e : sd.asMap().entrySet()) {
                String k = e.getKey();
                if (k.startsWith(V)) {
                    v.put(k.substring(V.length()), e.getValue().toFloatArray());
                } else if (k.startsWith(M)) {
                    m.put(k.substring(M.length()), e.getValue().toFloatArray());
                } else {
                    throw new CogVideoException(file + ": unexpected tensor '" + k + "' in an optimizer state");
                }
            }
        }
        return new OptimizerState(step, m, v);
    }
}
