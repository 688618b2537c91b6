package io.cogvideo.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A SwissArmyTransformer checkpoint folder:
 *
 * <pre>
 * dir/latest                                   iteration number (e.g. "12345") or "release"
 * dir/model_config.json                        architecture arguments
 * dir/&lt;latest&gt;/mp_rank_00_model_states.pt     torch.save zip; weights under 'module'
 * </pre>
 *
 * <p>A folder with {@code model_config.json} and a {@code *.safetensors} file (same key names) but no
 * {@code latest} file is accepted as well; the safetensors file is then read instead.
 *
 * <p>The weights are read lazily, once, by {@link #stateDict()}. {@link #close()} closes that state dict.
 */
public final class SatCheckpoint implements AutoCloseable {
    /** File name of model-parallel rank 0's states, the only rank CogVideo has. */
    public static final String STATES_FILE = "mp_rank_00_model_states.pt";

    private static final Pattern ITERATION = Pattern.compile("[0-9]{1,18}");
    /** Largest {@code latest} file read (it holds one short line). */
    private static final long MAX_LATEST_BYTES = 4096;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path dir;
    private final String latest;
    private final Path weightsFile;
    private final JsonNode configJson;
    private final Map<String, Object> config;
    private StateDict stateDict;

    private SatCheckpoint(Path dir, String latest, Path weightsFile, JsonNode configJson, Map<String, Object> config) {
        this.dir = dir;
        this.latest = latest;
        this.weightsFile = weightsFile;
        this.configJson = configJson;
        this.config = config;
    }

    /**
     * Opens a checkpoint folder: reads {@code latest} and {@code model_config.json} and locates the weights file.
     * The weights themselves are not read yet.
     *
     * @throws CheckpointException naming the offending file: folder missing, {@code latest} missing, empty or not an
     *                             iteration number / {@code release}, {@code latest} naming a missing folder,
     *                             {@code model_config.json} missing or not a JSON object, states file missing
     */
    public static SatCheckpoint open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir, Files.exists(dir) ? "not a directory (a SwissArmyTransformer"
                    + " checkpoint is a folder)" : "checkpoint folder does not exist");
        }
        Path latestFile = dir.resolve("latest");
        Path configFile = dir.resolve("model_config.json");
        if (!Files.exists(latestFile, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            List<Path> safetensors = safetensorsFiles(dir);
            if (!safetensors.isEmpty() && Files.exists(configFile)) {
                Path weights = chooseSafetensors(dir, safetensors);
                JsonNode json = readConfig(configFile);
                return new SatCheckpoint(dir, null, weights, json, toMap(json));
            }
            throw new CheckpointException(latestFile, "missing: not a SwissArmyTransformer checkpoint folder"
                    + " (expected 'latest', 'model_config.json' and '<iteration>/" + STATES_FILE + "', or"
                    + " 'model_config.json' with a .safetensors file)");
        }
        String tag = readLatest(latestFile);
        Path iterDir = dir.resolve(tag);
        if (!Files.isDirectory(iterDir)) {
            throw new CheckpointException(latestFile, "names iteration '" + tag + "' but folder " + iterDir
                    + " does not exist");
        }
        if (!Files.exists(configFile)) {
            throw new CheckpointException(configFile, "missing: every SwissArmyTransformer checkpoint needs its"
                    + " model_config.json");
        }
        JsonNode json = readConfig(configFile);
        Path states = iterDir.resolve(STATES_FILE);
        if (!Files.exists(states)) {
            throw new CheckpointException(states, "missing: the folder named by 'latest' holds no " + STATES_FILE);
        }
        InputFiles.requireRegularFile(states, "model states file");
        return new SatCheckpoint(dir, tag, states, json, toMap(json));
    }

    /** The checkpoint folder. */
    public Path dir() {
        return dir;
    }

    /** The content of {@code latest} (an iteration number or {@code "release"}); null for a safetensors folder. */
    public String latest() {
        return latest;
    }

    /** The file the weights are read from ({@code .pt} or {@code .safetensors}). */
    public Path weightsFile() {
        return weightsFile;
    }

    /** {@code model_config.json} as a deeply unmodifiable map (nested objects and arrays as maps and lists). */
    public Map<String, Object> config() {
        return config;
    }

    /**
     * Parses {@code model_config.json} with {@code parser} (for example {@code CogVideoConfig::fromSatConfig}); a
     * refusal is rethrown as a {@link CheckpointException} that names the config file.
     */
    public <T> T parseConfig(java.util.function.Function<Map<String, Object>, T> parser) {
        try {
            return parser.apply(config);
        } catch (io.cogvideo.CogVideoException | IllegalArgumentException e) {
            if (e instanceof CheckpointException) {
                throw e;
            }
            throw new CheckpointException(dir.resolve("model_config.json"), e.getMessage(), e);
        }
    }

    /** {@code model_config.json} as a JSON tree (a copy; changing it changes nothing here). */
    public JsonNode configJson() {
        return configJson.deepCopy();
    }

    /**
     * The model weights: the {@code module} entry of the states file, or every tensor of the safetensors file.
     * Read on the first call, then returned again.
     *
     * @throws CheckpointException if the weights file cannot be read (see {@link TorchCheckpointReader} and
     *                             {@link SafetensorsReader})
     */
    public synchronized StateDict stateDict() {
        if (stateDict == null) {
            stateDict = weightsFile.getFileName().toString().endsWith(".safetensors")
                    ? SafetensorsReader.read(weightsFile)
                    : TorchCheckpointReader.readModule(weightsFile);
        }
        return stateDict;
    }

    /** Closes the state dict if it was read. */
    @Override
    public synchronized void close() {
        if (stateDict != null) {
            stateDict.close();
        }
    }

    @Override
    public String toString() {
        return "SatCheckpoint[" + dir + ", " + (latest == null ? "safetensors" : "latest=" + latest) + "]";
    }

    private static String readLatest(Path latestFile) {
        long max = Math.min(ReadLimits.defaults().smallFileBytes(), MAX_LATEST_BYTES);
        byte[] raw = InputFiles.readBounded(latestFile, "'latest' file", max, null);
        for (int i = 0; i < raw.length; i++) {
            int c = raw[i] & 0xff;
            if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f) {
                throw new CheckpointException(latestFile, "holds the control byte 0x" + Integer.toHexString(c)
                        + " at offset " + i + "; it should hold only an iteration number or 'release'");
            }
        }
        String text = new String(raw, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            throw new CheckpointException(latestFile, "is empty; it should hold an iteration number or 'release'");
        }
        if (!text.equals("release") && !ITERATION.matcher(text).matches()) {
            throw new CheckpointException(latestFile, "holds '" + Inert.clip(text) + "', not an iteration number"
                    + " or 'release'");
        }
        return text;
    }

    private static JsonNode readConfig(Path configFile) {
        byte[] bytes = InputFiles.readBounded(configFile, "model config", ReadLimits.defaults().smallFileBytes(),
                "smallFileBytes");
        JsonNode json;
        try {
            json = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new CheckpointException(configFile, "is not valid JSON: " + e.getMessage(), e);
        }
        if (json == null || !json.isObject()) {
            throw new CheckpointException(configFile, "is not a JSON object");
        }
        return json;
    }

    private static Map<String, Object> toMap(JsonNode json) {
        Map<String, Object> map = JSON.convertValue(json, new TypeReference<Map<String, Object>>() { });
        @SuppressWarnings("unchecked")
        Map<String, Object> frozen = (Map<String, Object>) freeze(map);
        return frozen;
    }

    /** Deeply unmodifiable copy of Jackson's maps and lists (insertion order kept; JSON nulls kept). */
    private static Object freeze(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> copy = new LinkedHashMap<>();
            m.forEach((k, v) -> copy.put(k, freeze(v)));
            return Collections.unmodifiableMap(copy);
        }
        if (o instanceof List<?> l) {
            List<Object> copy = new ArrayList<>(l.size());
            l.forEach(v -> copy.add(freeze(v)));
            return Collections.unmodifiableList(copy);
        }
        return o;
    }

    private static List<Path> safetensorsFiles(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path p : ds) {
                if (Files.isRegularFile(p)) {
                    out.add(p);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException(dir, "cannot list folder: " + e, e);
        }
        Collections.sort(out);
        return out;
    }

    private static Path chooseSafetensors(Path dir, List<Path> files) {
        if (files.size() == 1) {
            return files.get(0);
        }
        for (Path p : files) {
            if (p.getFileName().toString().equals("model.safetensors")) {
                return p;
            }
        }
        throw new CheckpointException(dir, "several .safetensors files and none named model.safetensors: " + files);
    }
}
