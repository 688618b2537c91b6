package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Output files that never leave a half-written file or lose the file they replace: the content is written to a
 * temporary file beside the target (a name starting with a dot and ending in {@code .part} plus the target's
 * extension) and renamed over it only when complete. When writing fails, the temporary file is deleted and the
 * target is left exactly as it was.
 *
 * <p>Targets must be regular files or symbolic links to one (the link's target is replaced, the link kept), or not
 * exist yet. A directory, a device, a FIFO or a socket is refused before anything is written, as is a folder in
 * which no file can be created (checked by creating and deleting a probe file, which also catches read-only file
 * systems, where permission bits alone mislead a process running as root).
 */
public final class OutputFiles {

    /** Writes the content of an output to the path it is given (a temporary file). */
    @FunctionalInterface
    public interface Content {
        /**
         * Writes the whole output to {@code file}.
         *
         * @param file an empty temporary file beside the target, with the target's extension
         * @throws IOException when writing fails
         */
        void writeTo(Path file) throws IOException;
    }

    private OutputFiles() {
    }

    /**
     * Checks, without writing the output, that {@code target} can be written by {@link #replace}: it does not exist or
     * is a regular file (or a link to one), and its folder exists and accepts new files.
     *
     * @param target the output file
     * @throws CogVideoException naming the path and what is wrong
     */
    public static void checkTarget(Path target) {
        Path real = resolve(target);
        if (Files.exists(real)) {
            if (Files.isDirectory(real)) {
                throw new CogVideoException("output path " + target + " is a directory; expected a file path");
            }
            if (!Files.isRegularFile(real)) {
                throw new CogVideoException("output path " + target + " exists and is not a regular file (a device, "
                        + "FIFO or socket); refusing to write to it");
            }
        }
        checkFolderAcceptsFiles(real.toAbsolutePath().getParent(), target);
    }

    /**
     * Checks that new files can be created in {@code folder}: it exists, is a directory, and a probe file can be
     * created and deleted in it.
     *
     * @param folder the folder
     * @param forOutput the output the folder is checked for, named in the message
     * @throws CogVideoException naming the folder and the reason
     */
    public static void checkFolderAcceptsFiles(Path folder, Path forOutput) {
        if (folder == null) {
            throw new CogVideoException("output path " + forOutput + " has no parent folder");
        }
        if (!Files.isDirectory(folder)) {
            throw new CogVideoException("output folder " + folder + " (for " + forOutput + ") "
                    + (Files.exists(folder) ? "is not a directory" : "does not exist; create it first"));
        }
        try {
            Path probe = Files.createTempFile(folder, ".cogvideo-probe-", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw new CogVideoException("output folder " + folder + " (for " + forOutput + ") is not writable: "
                    + e, e);
        }
    }

    /**
     * Writes an output through a temporary file and renames it over {@code target}.
     *
     * @param target  the output file; replaced only when {@code content} completed
     * @param what    what is written, for messages (e.g. "GIF")
     * @param content writes the output to the temporary file
     * @throws CogVideoException naming {@code target} when the target is not writable or writing fails; a
     *                           {@code CogVideoException} thrown by {@code content} is rethrown as it is
     */
    public static void replace(Path target, String what, Content content) {
        checkTarget(target);
        Path real = resolve(target);
        Path dir = real.toAbsolutePath().getParent();
        String name = real.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String ext = dot > 0 ? name.substring(dot) : "";
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + stem + "-", ".part" + ext);
        } catch (IOException e) {
            throw new CogVideoException("could not create a temporary file in " + dir + " for " + what + " " + target
                    + ": " + e, e);
        }
        boolean done = false;
        try {
            content.writeTo(tmp);
            move(tmp, real);
            done = true;
        } catch (CogVideoException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CogVideoException("could not write " + what + " " + target + ": " + e, e);
        } finally {
            if (!done) {
                deleteQuietly(tmp);
            }
        }
    }

    /** Renames {@code from} over {@code to}, atomically where the file system can. */
    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The file a link points to (so the link is kept and its target replaced), else {@code target} itself. */
    private static Path resolve(Path target) {
        if (target == null) {
            throw new CogVideoException("output path must not be null");
        }
        if (Files.isSymbolicLink(target) && Files.exists(target)) {
            try {
                return target.toRealPath();
            } catch (IOException e) {
                throw new CogVideoException("cannot resolve the link " + target + ": " + e, e);
            }
        }
        return target;
    }

    static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException | RuntimeException ignored) {
            // best effort: the original failure is what the caller needs to see
        }
    }
}
