package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.Video;
import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.video.OutputFiles;
import io.cogvideo.video.PngSequenceWriter;
import io.cogvideo.video.VideoFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Output files of the CLI: checked before any work, written after, never losing a file of the user's. Files (GIF,
 * MP4, {@code .npy}) are written to a temporary name and renamed over the target; PNG frames go only into a new or
 * empty folder unless {@code --overwrite}, and then only the files of this run are replaced.
 */
final class Outputs {
    private Outputs() {
    }

    static boolean isTokens(Path p) {
        return p.getFileName() != null && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy");
    }

    /** Whether {@code p} names a single file (GIF, MP4 or {@code .npy}) by its extension, whatever exists there. */
    static boolean isFileOutput(Path p) {
        if (p.getFileName() == null) {
            return false;
        }
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".gif") || name.endsWith(".mp4") || name.endsWith(".npy");
    }

    /** Whether {@code p} is written as a folder of PNG frames. */
    static boolean isPngFrames(Path p) {
        return !isFileOutput(p) && VideoFormat.fromPath(p) == VideoFormat.PNG;
    }

    /** Fails early for an unsupported extension or a folder that cannot be written; one sample, no overwrite. */
    static void check(Path p) {
        check(List.of(p), 1, 1, false);
    }

    /**
     * Checks every output of a run before any work: the extension is supported; the folder can be created and really
     * accepts new files; a file output is not a directory, a device or a FIFO; a PNG frame folder is new or empty
     * (with {@code overwrite}: holds no non-file under a name this run writes); and no two outputs (of any sample)
     * are the same path.
     *
     * @param outputs    the outputs as given
     * @param samples    samples of the run (sample k goes to {@code name-k.ext})
     * @param frames     frames per sample
     * @param overwrite  whether PNG frame folders that hold files are accepted
     */
    static void check(List<Path> outputs, int samples, int frames, boolean overwrite) {
        Map<Path, Path> seen = new HashMap<>();
        for (Path p : outputs) {
            if (!isFileOutput(p)) {
                VideoFormat.fromPath(p); // names the extension and the supported ones
            }
            for (int s = 0; s < samples; s++) {
                Path target = s == 0 ? p : sibling(p, "-" + s);
                Path key = (isPngFrames(target) ? PngSequenceWriter.directoryFor(target) : target).toAbsolutePath()
                        .normalize();
                Path earlier = seen.putIfAbsent(key, target);
                if (earlier != null) {
                    throw new CogVideoException("output " + target + " is given twice (as " + earlier + " and "
                            + target + "); every output needs its own path");
                }
                checkOne(target, frames, overwrite);
            }
        }
    }

    private static void checkOne(Path target, int frames, boolean overwrite) {
        Path parent = target.toAbsolutePath().getParent();
        if (parent == null) {
            throw new CogVideoException("output " + target + " has no parent folder");
        }
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new CogVideoException("cannot create output folder " + parent + " (for " + target + "): "
                    + e.getMessage(), e);
        }
        if (isFileOutput(target)) {
            OutputFiles.checkTarget(target); // not a directory, device or FIFO; the folder accepts files
        } else {
            PngSequenceWriter.checkDirectory(PngSequenceWriter.directoryFor(target), frames, overwrite);
        }
    }

    /** Writes all samples: sample 0 to {@code p}, sample k to {@code name-k.ext}; PNG folders must be new or empty. */
    static void write(Video v, Path p) {
        write(v, p, false);
    }

    /**
     * Writes all samples: sample 0 to {@code p}, sample k to {@code name-k.ext}. Files are written to a temporary
     * name and renamed; PNG frames with {@code overwrite} replace only the files of this run.
     */
    static void write(Video v, Path p, boolean overwrite) {
        for (int s = 0; s < v.samples(); s++) {
            Path target = s == 0 ? p : sibling(p, "-" + s);
            if (isTokens(target)) {
                int[][][] t = v.tokens();
                int frames = v.frameCount();
                int per = t[s][0].length;
                float[] flat = new float[Math.multiplyExact(frames, per)];
                for (int f = 0; f < frames; f++) {
                    for (int i = 0; i < per; i++) {
                        flat[f * per + i] = t[s][f][i];
                    }
                }
                OutputFiles.replace(target, ".npy tokens", tmp -> NpyArray.writeFloats(tmp, flat, frames, per));
            } else if (isPngFrames(target)) {
                PngSequenceWriter.write(v.frames(s), PngSequenceWriter.directoryFor(target), overwrite);
            } else {
                v.write(s, target, VideoFormat.fromPath(target)); // GIF and MP4: temporary file, then renamed
            }
        }
    }

    /**
     * The first of {@code p + suffix}, {@code p + suffix + "-2"}, ... for which no sample's output exists yet (for
     * outputs made without being asked for, such as the partial result of a cancelled run).
     */
    static Path fresh(Path p, String suffix, int samples) {
        for (int n = 1; n < 1000; n++) {
            Path candidate = sibling(p, n == 1 ? suffix : suffix + "-" + n);
            List<Path> all = new ArrayList<>();
            for (int s = 0; s < samples; s++) {
                Path t = s == 0 ? candidate : sibling(candidate, "-" + s);
                all.add(isPngFrames(t) ? PngSequenceWriter.directoryFor(t) : t);
            }
            if (all.stream().noneMatch(Files::exists)) {
                return candidate;
            }
        }
        throw new CogVideoException("no free name for " + sibling(p, suffix) + " (tried 999)");
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
