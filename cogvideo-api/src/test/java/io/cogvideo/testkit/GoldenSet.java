package io.cogvideo.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cogvideo.checkpoint.NpyArray;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * A golden data directory produced by the original implementation. Its location comes from a system property
 * (e.g. {@code -Dcogvideo.golden=DIR}); the default is the copy in this module's test resources. Nothing here
 * assumes sizes: everything is read from the manifest and the arrays.
 */
public final class GoldenSet {
    private final Path dir;
    private final JsonNode manifest;

    private GoldenSet(Path dir) {
        this.dir = dir;
        try {
            this.manifest = new ObjectMapper().readTree(dir.resolve("manifest.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("manifest.json"), e);
        }
    }

    /** The set named by {@code property}, else {@code defaultRelative} under the api module's test resources. */
    public static GoldenSet fromProperty(String property, String defaultRelative) {
        String p = System.getProperty(property);
        Path dir = p != null && !p.isBlank() ? Paths.get(p) : locateDefault(defaultRelative);
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("golden directory " + dir + " (from -D" + property + ") does not exist");
        }
        return new GoldenSet(dir.toAbsolutePath().normalize());
    }

    private static Path locateDefault(String relative) {
        // the copies in test resources first; large sets (the VQ-VAE checkpoint) are read from ../shared/golden
        for (String base : new String[] {"src/test/resources/golden", "../cogvideo-api/src/test/resources/golden",
            "cogvideo-api/src/test/resources/golden", "../../shared/golden", "../shared/golden"}) {
            Path d = Paths.get(base).resolve(relative);
            if (Files.isDirectory(d)) {
                return d;
            }
        }
        return Paths.get("src/test/resources/golden").resolve(relative);
    }

    /** Whether the set named by {@code property} (or its default) is present. */
    public static boolean available(String property, String defaultRelative) {
        String p = System.getProperty(property);
        Path dir = p != null && !p.isBlank() ? Paths.get(p) : locateDefault(defaultRelative);
        return Files.isDirectory(dir);
    }

    public Path dir() {
        return dir;
    }

    public JsonNode manifest() {
        return manifest;
    }

    public NpyArray npy(String file) {
        return NpyArray.read(dir.resolve(file));
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
