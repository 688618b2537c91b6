package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.VideoGenerator;
import io.cogvideo.examples.demo.DemoBuild;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The embedded demo model: CogVideo's recipe trained by {@code cogvideo train-demo} on the world of coloured shapes
 * (docs/demo-model.md): stage 1 and stage 2 (4 layers, hidden 128), the world's text model, its VQ-VAE (96 x 96
 * frames, 12 x 12 tokens) and the codebook's cluster table, about 9 MB in float16. Copied from the class path into the
 * cache root on first use; a cached file is replaced when its SHA-256 differs from the embedded one. The cache root is
 * {@code -Dcogvideo.home}, else {@code $COGVIDEO_HOME}, else {@code ~/.cache/cogvideo}; nothing is downloaded.
 */
final class DemoAssets {
    private static final String BASE = "/io/cogvideo/demo/world/";
    private static final String[] FILES = {"stage1/model_config.json", "stage1/model.safetensors",
        "stage2/model_config.json", "stage2/model.safetensors", DemoBuild.TEXT_MODEL, DemoBuild.IMAGE_MODEL,
        DemoBuild.CLUSTER_TABLE, "training-summary.txt"};

    private final Path dir;

    private DemoAssets(Path dir) {
        this.dir = dir;
    }

    /**
     * The files of a packaged demo model folder (the embedded one once installed, or {@code train-demo}'s
     * {@code WORK/package}).
     */
    record Files(Path dir) {
        /** A packaged folder; fails naming the first missing file. */
        static Files of(Path dir) {
            for (String f : FILES) {
                if (!java.nio.file.Files.isRegularFile(dir.resolve(f))) {
                    throw new CogVideoException("demo model folder " + dir + " has no " + f
                            + " (expected the layout of train-demo's WORK/package)");
                }
            }
            return new Files(dir);
        }

        Path stage1() {
            return dir.resolve("stage1");
        }

        Path stage2() {
            return dir.resolve("stage2");
        }

        Path textTokenizer() {
            return dir.resolve(DemoBuild.TEXT_MODEL);
        }

        Path imageTokenizer() {
            return dir.resolve(DemoBuild.IMAGE_MODEL);
        }

        Path clusterTable() {
            return dir.resolve(DemoBuild.CLUSTER_TABLE);
        }

        /** Sets every model file of the builder. */
        VideoGenerator.Builder configure(VideoGenerator.Builder b) {
            return b.modelDir(stage1()).stage2ModelDir(stage2()).textTokenizer(textTokenizer())
                    .imageTokenizer(imageTokenizer()).clusterTable(clusterTable());
        }
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

    /** Copies the demo files into the cache (once; again when their content changed) and returns their location. */
    static synchronized DemoAssets install() {
        Path dir = cacheRoot().resolve("demo-world");
        try {
            for (String f : FILES) {
                Path target = dir.resolve(f);
                byte[] bytes;
                try (InputStream in = DemoAssets.class.getResourceAsStream(BASE + f)) {
                    if (in == null) {
                        throw new CogVideoException("embedded demo file " + f + " is missing from the class path "
                                + "(is cogvideo-examples built?)");
                    }
                    bytes = in.readAllBytes();
                }
                if (java.nio.file.Files.isRegularFile(target)
                        && Arrays.equals(sha256(java.nio.file.Files.readAllBytes(target)), sha256(bytes))) {
                    continue;
                }
                java.nio.file.Files.createDirectories(target.getParent());
                Path tmp = java.nio.file.Files.createTempFile(target.getParent(), "part", ".tmp");
                java.nio.file.Files.write(tmp, bytes);
                java.nio.file.Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new CogVideoException("cannot install the demo model into " + dir + ": " + e.getMessage()
                    + " (set -Dcogvideo.home or COGVIDEO_HOME to a writable folder)", e);
        }
        return new DemoAssets(dir);
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** The installed files. */
    Files files() {
        return new Files(dir);
    }

    Path modelDir() {
        return files().stage1();
    }

    Path textTokenizer() {
        return files().textTokenizer();
    }

    Path imageTokenizer() {
        return files().imageTokenizer();
    }

    String describe() {
        return "CogVideo's recipe trained on a world of coloured shapes (docs/demo-model.md), in " + dir;
    }
}
