package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.Video;
import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.video.VideoFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Output files of the CLI: checked before any work, written after. */
final class Outputs {
    private Outputs() {
    }

    static boolean isTokens(Path p) {
        return p.getFileName() != null && p.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".npy");
    }

    /** Fails early for an unsupported extension or a folder that cannot be written. */
    static void check(Path p) {
        if (!isTokens(p)) {
            VideoFormat.fromPath(p); // names the extension and the supported ones
        }
        Path parent = p.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new CogVideoException("cannot create output folder " + parent + ": " + e.getMessage());
        }
        if (!Files.isWritable(parent)) {
            throw new CogVideoException("output folder " + parent + " is not writable");
        }
        if (Files.isDirectory(p) && !Files.isWritable(p)) {
            throw new CogVideoException("output folder " + p + " is not writable");
        }
    }

    /** Writes all samples: sample 0 to {@code p}, sample k to {@code name-k.ext}. */
    static void write(Video v, Path p) {
        for (int s = 0; s < v.samples(); s++) {
            Path target = s == 0 ? p : sibling(p, "-" + s);
            if (isTokens(target)) {
                int[][][] t = v.tokens();
                int frames = v.frameCount();
                int per = t[s][0].length;
                float[] flat = new float[frames * per];
                for (int f = 0; f < frames; f++) {
                    for (int i = 0; i < per; i++) {
                        flat[f * per + i] = t[s][f][i];
                    }
                }
                NpyArray.writeFloats(target, flat, frames, per);
            } else {
                v.write(s, target, VideoFormat.fromPath(target));
            }
        }
    }

    /** {@code p} with its extension replaced by {@code ext} (which starts with a dot). */
    static Path withExtension(Path p, String ext) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return p.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ext);
    }

    /** {@code dir/name<suffix>.ext}. */
    static Path sibling(Path p, String suffix) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String ext = dot > 0 ? name.substring(dot) : "";
        return p.resolveSibling(stem + suffix + ext);
    }
}
