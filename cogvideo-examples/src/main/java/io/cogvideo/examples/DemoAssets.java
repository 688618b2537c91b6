package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;

/**
 * The embedded demo model (a tiny CogVideo-shaped transformer with seeded random weights, the golden tiny VQ-VAE
 * decoder and the tiny icetk-style text model, about 5 MB), copied from the class path into the cache root on
 * first use. The cache root is {@code -Dcogvideo.home}, else {@code $COGVIDEO_HOME}, else
 * {@code ~/.cache/cogvideo}; nothing is downloaded.
 */
final class DemoAssets {
    private static final String BASE = "/io/cogvideo/demo/";
    private static final String[] FILES = {"model/model_config.json", "model/model.safetensors",
        "ice_text_tiny.model", "ice_image_demo.safetensors"};

    private final Path dir;

    private DemoAssets(Path dir) {
        this.dir = dir;
    }

    /** The cache root for everything cogvideo keeps on disk. */
    static Path cacheRoot() {
        String p = System.getProperty("cogvideo.home");
        if (p == null || p.isBlank()) {
            p = System.getenv("COGVIDEO_HOME");
        }
        if (p == null || p.isBlank()) {
            return Paths.get(System.getProperty("user.home"), ".cache", "cogvideo");
        }
        return Paths.get(p);
    }

    /** Copies the demo files into the cache (once) and returns their location. */
    static synchronized DemoAssets install() {
        Path dir = cacheRoot().resolve("demo-0.1.0");
        try {
            for (String f : FILES) {
                Path target = dir.resolve(f);
                try (InputStream in = DemoAssets.class.getResourceAsStream(BASE + f)) {
                    if (in == null) {
                        throw new CogVideoException("embedded demo file " + f + " is missing from the class path "
                                + "(is cogvideo-examples built?)");
                    }
                    byte[] bytes = in.readAllBytes();
                    if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
                        continue;
                    }
                    Files.createDirectories(target.getParent());
                    Path tmp = Files.createTempFile(target.getParent(), "part", ".tmp");
                    Files.write(tmp, bytes);
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } catch (IOException e) {
            throw new CogVideoException("cannot install the demo model into " + dir + ": " + e.getMessage()
                    + " (set -Dcogvideo.home or COGVIDEO_HOME to a writable folder)", e);
        }
        return new DemoAssets(dir);
    }

    Path modelDir() {
        return dir.resolve("model");
    }

    Path textTokenizer() {
        return dir.resolve("ice_text_tiny.model");
    }

    Path imageTokenizer() {
        return dir.resolve("ice_image_demo.safetensors");
    }

    String describe() {
        return "2 layers, hidden 64, 512 image tokens, in " + dir;
    }
}
