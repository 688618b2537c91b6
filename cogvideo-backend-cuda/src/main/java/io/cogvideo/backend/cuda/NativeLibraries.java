package io.cogvideo.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the CUDA driver and cuBLAS are looked for, in order, and the loading itself. The lists are pure functions
 * of the environment so that the order is unit-tested.
 *
 * <p>A bare name ({@code libcublas.so.13}) goes to the dynamic loader ({@code LD_LIBRARY_PATH}, the ld.so cache);
 * a path is tried only if the file exists. The driver is never looked for in a toolkit's {@code lib64/stubs}
 * (the stub would load and then fail every call).
 */
@SuppressWarnings("restricted") // native access is this class's purpose
final class NativeLibraries {
    /** System property: an explicit path of {@code libcuda.so.1}, tried first. */
    static final String DRIVER_PROPERTY = "cogvideo.cuda.driver";
    /** System property: an explicit path of a cuBLAS library, tried first. */
    static final String CUBLAS_PROPERTY = "cogvideo.cuda.cublas";

    static final List<String> DRIVER_NAMES = List.of("libcuda.so.1", "libcuda.so");
    static final List<Path> DRIVER_DIRS = List.of(Path.of("/usr/local/nvidia/lib64"), Path.of("/usr/lib/wsl/lib"),
            Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib64"));

    private NativeLibraries() {
    }

    /** A library that was loaded: its symbols and the name or path that worked. */
    record Loaded(SymbolLookup symbols, String name) {
    }

    /** Raised when no candidate loads; {@link #tried()} lists them in order. */
    static final class NotFound extends Exception {
        private static final long serialVersionUID = 1L;
        private final List<String> tried;

        NotFound(List<String> tried) {
            super("tried " + String.join(", ", tried));
            this.tried = List.copyOf(tried);
        }

        List<String> tried() {
            return tried;
        }
    }

    /** Driver candidates: the property, then each name bare and in the usual driver directories. */
    static List<String> driverCandidates(String property) {
        Set<String> out = new LinkedHashSet<>();
        if (property != null && !property.isBlank()) {
            out.add(property.trim());
        }
        for (String name : DRIVER_NAMES) {
            out.add(name);
            for (Path dir : DRIVER_DIRS) {
                out.add(dir.resolve(name).toString());
            }
        }
        return List.copyOf(out);
    }

    /**
     * cuBLAS names, newest first, skipping majors newer than the driver can run ({@code driverVersion} as
     * {@code cuDriverGetVersion} gives it, e.g. 12040 for CUDA 12.4; 0 when unknown: no skipping).
     */
    static List<String> cublasNames(int driverVersion) {
        List<String> names = new ArrayList<>();
        int driverMajor = driverVersion / 1000;
        for (int major : new int[] {13, 12}) {
            if (driverVersion == 0 || major <= driverMajor) {
                names.add("libcublas.so." + major);
            }
        }
        names.add("libcublas.so");
        return names;
    }

    /** Toolkit library directories: {@code $CUDA_HOME/lib64}, {@code $CUDA_PATH/lib64}, {@code /usr/local/cuda/lib64}. */
    static List<Path> toolkitDirs(Map<String, String> env) {
        Set<Path> dirs = new LinkedHashSet<>();
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) {
                dirs.add(Path.of(v.trim(), "lib64"));
            }
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        return List.copyOf(dirs);
    }

    /** cuBLAS candidates: the property, then for each name (newest first) the bare name and each toolkit directory. */
    static List<String> cublasCandidates(String property, int driverVersion, Map<String, String> env) {
        Set<String> out = new LinkedHashSet<>();
        if (property != null && !property.isBlank()) {
            out.add(property.trim());
        }
        List<Path> dirs = toolkitDirs(env);
        for (String name : cublasNames(driverVersion)) {
            out.add(name);
            for (Path dir : dirs) {
                out.add(dir.resolve(name).toString());
            }
        }
        return List.copyOf(out);
    }

    /** Loads the first candidate that the dynamic loader accepts (into the global arena: never unloaded). */
    static Loaded loadFirst(List<String> candidates) throws NotFound {
        List<String> tried = new ArrayList<>();
        for (String c : candidates) {
            boolean isPath = c.indexOf('/') >= 0;
            if (isPath && !Files.exists(Path.of(c))) {
                tried.add(c);
                continue;
            }
            try {
                SymbolLookup lookup = isPath ? SymbolLookup.libraryLookup(Path.of(c), Arena.global())
                        : SymbolLookup.libraryLookup(c, Arena.global());
                return new Loaded(lookup, c);
            } catch (IllegalArgumentException | IllegalCallerException e) {
                tried.add(c);
            }
        }
        throw new NotFound(tried);
    }

    /** The bare names of a candidate list (for short messages). */
    static List<String> bareNames(List<String> candidates) {
        Set<String> out = new LinkedHashSet<>();
        for (String c : candidates) {
            out.add(Path.of(c).getFileName().toString());
        }
        return List.copyOf(out);
    }
}
