package io.cogvideo.fuzz;

import io.cogvideo.CogVideoException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The invariant of the fuzz suite (issue #18): reading any input ends either normally or in a
 * {@link CogVideoException} whose message names the input; never an {@link Error}, another exception, or a run of
 * more than {@value #TIMEOUT_SECONDS} s. A failing input is saved under {@code target/fuzz-failures/} for replay.
 *
 * <p>Modes: the default (CI) mode runs each generated input once; with {@code -Dcogvideo.fuzz.long=true} each input
 * is also run through {@link #mutations()} random mutations (bit flips, byte changes, truncations, duplicated
 * slices), {@code -Dcogvideo.fuzz.mutations} of them (default 10).
 */
final class FuzzInvariant {
    static final long TIMEOUT_SECONDS = 10;
    static final boolean LONG = Boolean.getBoolean("cogvideo.fuzz.long");
    static final AtomicLong RUNS = new AtomicLong();

    private static final ExecutorService EXEC = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fuzz-target");
        t.setDaemon(true);
        return t;
    });

    private FuzzInvariant() {
    }

    /** Mutations per generated input: 0 in CI mode. */
    static int mutations() {
        return LONG ? Integer.getInteger("cogvideo.fuzz.mutations", 10) : 0;
    }

    /** What is read: the file (already written) is handed to the reader. */
    interface Reader {
        void read(Path file) throws Exception;
    }

    /**
     * Writes {@code data} to {@code file}, runs {@code reader} on it (and, in long mode, on mutations of it) and
     * checks the invariant.
     */
    static void check(Path file, byte[] data, long seed, Reader reader) {
        check(file, data, seed, file.getFileName().toString(), reader);
    }

    /** As {@link #check(Path, byte[], long, Reader)}; the error must name {@code inputName} (a file or folder). */
    static void check(Path file, byte[] data, long seed, String inputName, Reader reader) {
        runOnce(file, data, inputName, reader);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < mutations(); i++) {
            runOnce(file, mutate(data, rnd), inputName, reader);
        }
    }

    static void runOnce(Path file, byte[] data, String name, Reader reader) {
        try {
            Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        RUNS.incrementAndGet();
        long fdsBefore = openFiles();
        try {
            runReader(file, data, name, reader);
        } finally {
            long fdsAfter = openFiles();
            if (fdsAfter > fdsBefore) {
                throw fail(file, data, "the reader left " + (fdsAfter - fdsBefore) + " file descriptor(s) open", null);
            }
        }
    }

    /** Open file descriptors of this process (Linux: entries of /proc/self/fd), or -1 where unknown. */
    static long openFiles() {
        Path fd = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fd)) {
            return -1;
        }
        try (var s = Files.list(fd)) {
            return s.count() - 1; // the listing's own descriptor
        } catch (IOException e) {
            return -1;
        }
    }

    private static void runReader(Path file, byte[] data, String name, Reader reader) {
        Future<?> f = EXEC.submit(() -> {
            reader.read(file);
            return null;
        });
        try {
            f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw fail(file, data, "hang: the reader ran more than " + TIMEOUT_SECONDS + " s", null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            Throwable t = e.getCause();
            if (t instanceof CogVideoException c) {
                if (c.getMessage() == null || !c.getMessage().contains(name)) {
                    throw fail(file, data, "the error does not name the input " + name + ": " + c.getMessage(), c);
                }
                return;
            }
            throw fail(file, data, "not a CogVideoException: " + t, t);
        }
    }

    private static AssertionError fail(Path file, byte[] data, String problem, Throwable cause) {
        Path saved = Path.of("target", "fuzz-failures", System.nanoTime() + "-" + file.getFileName());
        try {
            Files.createDirectories(saved.getParent());
            Files.write(saved, data);
        } catch (IOException e) {
            saved = null;
        }
        return new AssertionError(problem + " (input saved as " + saved + ")", cause);
    }

    /** One random mutation: flips, byte sets, interesting values, truncation, duplication of a slice. */
    static byte[] mutate(byte[] in, SplittableRandom rnd) {
        byte[] b = in.clone();
        if (b.length == 0) {
            return new byte[] {(byte) rnd.nextInt(256)};
        }
        int kind = rnd.nextInt(6);
        switch (kind) {
            case 0 -> {
                for (int i = 0, n = 1 + rnd.nextInt(8); i < n; i++) {
                    int p = rnd.nextInt(b.length);
                    b[p] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> {
                for (int i = 0, n = 1 + rnd.nextInt(4); i < n; i++) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
            }
            case 2 -> {
                int[] interesting = {0, 0xff, 0x7f, 0x80};
                int p = rnd.nextInt(b.length);
                for (int i = p; i < Math.min(b.length, p + 4); i++) {
                    b[i] = (byte) interesting[rnd.nextInt(interesting.length)];
                }
            }
            case 3 -> {
                return java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 4 -> {
                int from = rnd.nextInt(b.length);
                int len = Math.min(b.length - from, 1 + rnd.nextInt(64));
                byte[] out = new byte[b.length + len];
                int at = rnd.nextInt(b.length + 1);
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, from, out, at, len);
                System.arraycopy(b, at, out, at + len, b.length - at);
                return out;
            }
            default -> {
                // a little-endian 32-bit field set to an extreme value
                if (b.length >= 4) {
                    int p = rnd.nextInt(b.length - 3);
                    int v = switch (rnd.nextInt(4)) {
                        case 0 -> -1;
                        case 1 -> Integer.MAX_VALUE;
                        case 2 -> 0x10000;
                        default -> rnd.nextInt();
                    };
                    for (int i = 0; i < 4; i++) {
                        b[p + i] = (byte) (v >>> (8 * i));
                    }
                }
            }
        }
        return b;
    }
}
