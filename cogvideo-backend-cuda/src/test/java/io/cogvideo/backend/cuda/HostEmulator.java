package io.cogvideo.backend.cuda;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Builds and drives {@code src/test/cuda/emu_runner.cpp}: the backend's kernel headers compiled by the host C++
 * compiler against the SIMT emulator {@code cuda_emu.h}. Needs a C++20 compiler and the CUDA headers (for
 * {@code cuda_fp16.h}); {@link #unavailableReason()} says what is missing.
 */
final class HostEmulator {
    private static final Object LOCK = new Object();
    private static Path binary;
    private static String problem;

    private HostEmulator() {
    }

    /** {@code null} if the runner is (or can be) built, else why not. */
    static String unavailableReason() {
        build();
        return problem;
    }

    static Path cudaInclude() {
        String nvcc = System.getProperty("cogvideo.cuda.nvcc", "/usr/local/cuda/bin/nvcc");
        Path p = Path.of(nvcc).toAbsolutePath().getParent();
        if (p != null && p.getParent() != null && Files.exists(p.getParent().resolve("include/cuda_fp16.h"))) {
            return p.getParent().resolve("include");
        }
        Path fallback = Path.of("/usr/local/cuda/include");
        return Files.exists(fallback.resolve("cuda_fp16.h")) ? fallback : null;
    }

    static Path sourceDir() {
        return Path.of(System.getProperty("cogvideo.cuda.sourceDir", "src/main/cuda"));
    }

    static Path testSourceDir() {
        return Path.of(System.getProperty("cogvideo.cuda.testSourceDir", "src/test/cuda"));
    }

    static Path scratch() {
        return Path.of(System.getProperty("cogvideo.cuda.scratch", "target/cuda-test"));
    }

    private static String compiler() {
        for (String c : new String[] {"g++", "c++", "clang++"}) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, c))) {
                    return Path.of(dir, c).toString();
                }
            }
        }
        return null;
    }

    private static void build() {
        synchronized (LOCK) {
            if (binary != null || problem != null) {
                return;
            }
            String cxx = compiler();
            Path inc = cudaInclude();
            if (cxx == null) {
                problem = "no host C++ compiler (g++, c++ or clang++) on the PATH";
                return;
            }
            if (inc == null) {
                problem = "no CUDA headers (cuda_fp16.h) next to nvcc or in /usr/local/cuda/include";
                return;
            }
            try {
                Files.createDirectories(scratch());
                Path out = scratch().resolve("emu_runner");
                List<String> cmd = List.of(cxx, "-std=c++20", "-O2", "-Wall", "-Wno-unknown-pragmas", "-pthread",
                        "-DCV_HOST_EMULATION", "-I", sourceDir().toString(), "-I", testSourceDir().toString(), "-I",
                        inc.toString(), testSourceDir().resolve("emu_runner.cpp").toString(), "-o", out.toString());
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new AssertionError("compiling the kernel emulator failed:\n" + String.join(" ", cmd) + "\n"
                            + log);
                }
                binary = out;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Runs one batch of requests through a fresh runner process and returns its whole output. */
    static ByteBuffer run(Request request) {
        build();
        if (binary == null) {
            throw new IllegalStateException(problem);
        }
        try {
            Process p = new ProcessBuilder(binary.toString()).start();
            byte[] in = request.bytes();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (OutputStream os = p.getOutputStream()) {
                    os.write(in);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            byte[] out = readAll(p.getInputStream());
            if (!p.waitFor(600, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("emu_runner timed out");
            }
            writer.join();
            if (p.exitValue() != 0) {
                throw new AssertionError("emu_runner exited with " + p.exitValue() + ": "
                        + new String(err.join(), StandardCharsets.UTF_8));
            }
            return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A little-endian request stream. */
    static final class Request {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Request i32(int... vs) {
            for (int v : vs) {
                scratch.clear();
                out.write(scratch.putInt(v).array(), 0, 4);
            }
            return this;
        }

        Request i64(long v) {
            scratch.clear();
            out.write(scratch.putLong(v).array(), 0, 8);
            return this;
        }

        Request f32(float v) {
            scratch.clear();
            out.write(scratch.putFloat(v).array(), 0, 4);
            return this;
        }

        Request floats(float[] vs) {
            ByteBuffer b = ByteBuffer.allocate(4 * vs.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(vs);
            out.write(b.array(), 0, b.capacity());
            return this;
        }

        Request ints(int[] vs) {
            ByteBuffer b = ByteBuffer.allocate(4 * vs.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asIntBuffer().put(vs);
            out.write(b.array(), 0, b.capacity());
            return this;
        }

        Request bytes(byte[] b) {
            out.write(b, 0, b.length);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** Reads {@code n} floats. */
    static float[] floats(ByteBuffer b, int n) {
        float[] f = new float[n];
        b.asFloatBuffer().get(f);
        b.position(b.position() + 4 * n);
        return f;
    }

    static List<float[]> floatsEach(ByteBuffer b, int... counts) {
        List<float[]> out = new ArrayList<>();
        for (int c : counts) {
            out.add(floats(b, c));
        }
        return out;
    }
}
