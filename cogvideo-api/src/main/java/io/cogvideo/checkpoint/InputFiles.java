package io.cogvideo.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Checks for the files the readers are given: only a regular file (or a symbolic link to one) is read; a folder,
 * a FIFO, a device or a socket is refused at once, before it is opened (opening a FIFO would block, reading
 * {@code /dev/zero} would never end). Reads are bounded: a file is never read past a limit, whatever its declared
 * size. Every failure is a {@link CheckpointException} naming the file.
 */
public final class InputFiles {
    private InputFiles() {
    }

    /**
     * Requires {@code file} to be a regular file (links followed) and returns its size.
     *
     * @param what what the file is, for the message ("token file", "SentencePiece model")
     * @throws CheckpointException if it does not exist, or is a folder, FIFO, device or other non-regular file
     */
    public static long requireRegularFile(Path file, String what) {
        if (file == null) {
            throw new IllegalArgumentException(what + " path must not be null");
        }
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, what + " does not exist (no such file)");
        } catch (IOException | SecurityException e) {
            throw new CheckpointException(file, what + " cannot be inspected: " + e, e);
        }
        if (!a.isRegularFile()) {
            String kind = a.isDirectory() ? "a folder" : a.isOther() ? "a FIFO, device or socket" : "not a file";
            boolean link = Files.isSymbolicLink(file);
            throw new CheckpointException(file, what + " is " + kind + (link ? " (through a symbolic link)" : "")
                    + "; only a regular file (or a link to one) is read");
        }
        return a.size();
    }

    /**
     * Reads a whole regular file of at most {@code maxBytes} bytes; the read stops after {@code maxBytes + 1}
     * bytes whatever the file claims, so a file that grows while being read is refused too.
     *
     * @param limitName the {@link ReadLimits} component that {@code maxBytes} comes from, named in the message
     * @throws CheckpointException if the file is not regular, is larger than the limit, or cannot be read
     */
    public static byte[] readBounded(Path file, String what, long maxBytes, String limitName) {
        long size = requireRegularFile(file, what);
        String limit = limitName == null ? String.valueOf(maxBytes) : ReadLimits.named(limitName, maxBytes);
        if (size > maxBytes) {
            throw new CheckpointException(file, what + " is " + size + " bytes, more than the limit of " + limit);
        }
        int cap = (int) Math.min(Integer.MAX_VALUE - 16L, maxBytes + 1);
        byte[] data;
        try (InputStream in = Files.newInputStream(file)) {
            data = in.readNBytes(cap);
        } catch (IOException e) {
            throw new CheckpointException(file, what + " cannot be read: " + e, e);
        }
        if (data.length > maxBytes) {
            throw new CheckpointException(file, what + " holds more than the limit of " + limit + " bytes");
        }
        return data;
    }
}
