package io.cogvideo.checkpoint;

import io.cogvideo.spi.TensorData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An immutable, ordered map from parameter name to tensor, as read from one checkpoint file. Tensors are normally
 * read-only slices of a memory-mapped file, so holding a {@code StateDict} costs address space, not heap.
 *
 * <p>{@link #close()} drops the references to the tensors so the mappings can be reclaimed by the garbage
 * collector (Java 17 offers no way to unmap a file explicitly); after closing, every accessor throws
 * {@link IllegalStateException}. Tensors obtained earlier remain valid.
 */
public final class StateDict implements AutoCloseable {
    private static final int MAX_SUGGESTIONS = 5;

    private final Path source;
    private volatile Map<String, TensorData> tensors;

    private StateDict(Path source, Map<String, TensorData> tensors) {
        this.source = source;
        this.tensors = tensors;
    }

    /**
     * Creates a state dict from tensors already at hand, keeping the iteration order of {@code tensors}.
     *
     * @param source the file the tensors came from (used in error messages)
     * @param tensors name to tensor; neither may be null
     */
    public static StateDict of(Path source, Map<String, TensorData> tensors) {
        Objects.requireNonNull(source, "source");
        Map<String, TensorData> copy = new LinkedHashMap<>();
        for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
            copy.put(Objects.requireNonNull(e.getKey(), "key"), Objects.requireNonNull(e.getValue(), e.getKey()));
        }
        return new StateDict(source, Collections.unmodifiableMap(copy));
    }

    /** The checkpoint file the tensors were read from. */
    public Path source() {
        return source;
    }

    /** The parameter names, in checkpoint order. */
    public Set<String> keys() {
        return map().keySet();
    }

    /** True if a tensor is stored under {@code key}. */
    public boolean contains(String key) {
        return map().containsKey(key);
    }

    /** Number of tensors. */
    public int size() {
        return map().size();
    }

    /** An unmodifiable view of all tensors, in checkpoint order. */
    public Map<String, TensorData> asMap() {
        return map();
    }

    /**
     * The tensor stored under {@code key}.
     *
     * @throws CheckpointException if there is none; the message names the file, the key and up to five similar
     *                             keys that are present
     */
    public TensorData get(String key) {
        Map<String, TensorData> m = map();
        TensorData t = m.get(key);
        if (t == null) {
            List<String> similar = similarKeys(key, m.keySet());
            throw new CheckpointException(source, "no tensor '" + key + "' in the state dict (" + m.size()
                    + " tensors)" + (similar.isEmpty() ? "" : "; similar keys: " + similar));
        }
        return t;
    }

    /**
     * The tensor stored under {@code key}, checked to have exactly {@code expectedShape}.
     *
     * @throws CheckpointException if the key is missing (see {@link #get}) or the shape differs; the message names
     *                             the file, the key, the expected and the found shape
     */
    public TensorData require(String key, int... expectedShape) {
        TensorData t = get(key);
        int[] found = t.shape();
        if (!Arrays.equals(found, expectedShape)) {
            throw new CheckpointException(source, "tensor '" + key + "' has shape " + Arrays.toString(found)
                    + " (" + t.dtype() + ") but shape " + Arrays.toString(expectedShape) + " is expected");
        }
        return t;
    }

    /** Releases the references to the tensors (see the class comment). Idempotent. */
    @Override
    public void close() {
        tensors = null;
    }

    @Override
    public String toString() {
        Map<String, TensorData> m = tensors;
        return "StateDict[" + source + ", " + (m == null ? "closed" : m.size() + " tensors") + "]";
    }

    private Map<String, TensorData> map() {
        Map<String, TensorData> m = tensors;
        if (m == null) {
            throw new IllegalStateException("state dict of " + source + " is closed");
        }
        return m;
    }

    /** Up to five present keys closest to {@code key} (edit distance on the last 200 characters). */
    static List<String> similarKeys(String key, Set<String> present) {
        record Scored(String key, int score) {
        }
        String k = tail(key);
        List<Scored> scored = new ArrayList<>();
        for (String p : present) {
            scored.add(new Scored(p, editDistance(k, tail(p))));
        }
        int limit = Math.max(3, k.length() / 2);
        return scored.stream()
                .filter(s -> s.score() <= limit)
                .sorted(Comparator.comparingInt(Scored::score).thenComparing(Scored::key))
                .limit(MAX_SUGGESTIONS)
                .map(Scored::key)
                .toList();
    }

    private static String tail(String s) {
        return s.length() <= 200 ? s : s.substring(s.length() - 200);
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
