package io.cogvideo.backend.cuda;

import io.cogvideo.spi.BackendProvider.Availability;
import java.util.List;

/**
 * Whether the CUDA backend can run here: the checks in the order a user fixes them, each failure with the reason
 * shown by {@link io.cogvideo.spi.Backends}. Done once per JVM and cached: loading {@code libcuda.so.1},
 * {@code cuInit}, device attributes, the driver's CUDA version against the PTX's, loading cuBLAS, and the presence
 * of the PTX resources. Allocates nothing on the device.
 */
final class Probe {
    /** System property: device ordinal (default 0; {@code CUDA_VISIBLE_DEVICES} applies first). */
    static final String DEVICE_PROPERTY = "cogvideo.cuda.device";

    final boolean available;
    final String reason;
    final CudaDriver driver;
    final Cublas cublas;
    final int ordinal;

    private static volatile Probe cached;

    private Probe(boolean available, String reason, CudaDriver driver, Cublas cublas, int ordinal) {
        this.available = available;
        this.reason = reason;
        this.driver = driver;
        this.cublas = cublas;
        this.ordinal = ordinal;
    }

    static Probe get() {
        Probe p = cached;
        if (p == null) {
            synchronized (Probe.class) {
                p = cached;
                if (p == null) {
                    p = run();
                    cached = p;
                }
            }
        }
        return p;
    }

    Availability availability() {
        return available ? Availability.yes(reason) : Availability.no(reason);
    }

    private static Probe no(String reason, boolean kernels, CudaDriver driver) {
        if (!kernels && !reason.startsWith("kernels")) {
            reason = reason + "; also: " + KernelImages.MISSING;
        }
        return new Probe(false, reason, driver, null, 0);
    }

    private static Probe run() {
        boolean kernels = KernelImages.present();
        try {
            return runChecks(kernels);
        } catch (IllegalCallerException e) {
            return no("native access is denied to this code (" + e.getMessage()
                    + "); run with --enable-native-access=ALL-UNNAMED", kernels, null);
        } catch (RuntimeException | LinkageError e) {
            return no("probing the CUDA driver failed: " + e, kernels, null);
        }
    }

    /** "a and b in the loader path and dir1, dir2": candidate names and the directories tried. */
    static String describe(List<String> tried) {
        java.util.Set<String> names = new java.util.LinkedHashSet<>();
        java.util.Set<String> dirs = new java.util.LinkedHashSet<>();
        java.util.Set<String> bare = new java.util.LinkedHashSet<>();
        for (String t : tried) {
            java.nio.file.Path p = java.nio.file.Path.of(t);
            names.add(p.getFileName().toString());
            if (p.getParent() != null) {
                dirs.add(p.getParent().toString());
            } else {
                bare.add(t);
            }
        }
        StringBuilder sb = new StringBuilder(String.join(", ", names));
        if (!bare.isEmpty()) {
            sb.append(" in the loader path");
        }
        if (!dirs.isEmpty()) {
            sb.append(bare.isEmpty() ? " in " : " and ").append(String.join(", ", dirs));
        }
        return sb.toString();
    }

    private static Probe runChecks(boolean kernels) {
        List<String> driverCandidates = NativeLibraries.driverCandidates(System.getProperty(
                NativeLibraries.DRIVER_PROPERTY));
        CudaDriver cu;
        try {
            cu = CudaDriver.load(driverCandidates);
        } catch (NativeLibraries.NotFound e) {
            return no("no CUDA driver: libcuda.so.1 not found (tried " + describe(e.tried()) + ")", kernels, null);
        }
        int rc = cu.init();
        if (rc != CudaDriver.CUDA_SUCCESS) {
            String detail = cu.errorString(rc);
            return no("cuInit failed: " + cu.errorName(rc) + (detail == null ? "" : " (" + detail + ")"), kernels, cu);
        }
        int count = cu.deviceCount();
        if (count < 1) {
            return no("no CUDA device (cuDeviceGetCount = " + count + ")", kernels, cu);
        }
        int ordinal;
        try {
            ordinal = Integer.parseInt(System.getProperty(DEVICE_PROPERTY, "0").trim());
        } catch (NumberFormatException e) {
            return no("-D" + DEVICE_PROPERTY + " must be a device number, got '" + System.getProperty(DEVICE_PROPERTY)
                    + "'", kernels, cu);
        }
        if (ordinal < 0 || ordinal >= count) {
            return no("-D" + DEVICE_PROPERTY + "=" + ordinal + " but " + count + " CUDA device(s) are present",
                    kernels, cu);
        }
        int dev = cu.device(ordinal);
        String name = cu.deviceName(dev);
        int major = cu.attribute(dev, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = cu.attribute(dev, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        if (KernelImages.archFor(major, minor) == null) {
            return no(name + " has compute capability " + major + "." + minor
                    + "; the cuda backend's kernels need 8.0 (sm_80) or newer", kernels, cu);
        }
        int driverVersion = cu.driverVersion();
        int ptxVersion = KernelImages.bundledToolkitVersion();
        if (ptxVersion > 0 && driverVersion < ptxVersion) {
            return no("the NVIDIA driver supports CUDA " + KernelImages.versionString(driverVersion)
                    + " but the kernels were compiled by CUDA " + KernelImages.versionString(ptxVersion)
                    + " (the driver cannot JIT-compile newer PTX); update the driver or rebuild with an older nvcc",
                    kernels, cu);
        }
        List<String> cublasCandidates = NativeLibraries.cublasCandidates(System.getProperty(
                NativeLibraries.CUBLAS_PROPERTY), driverVersion, System.getenv());
        Cublas blas;
        try {
            blas = Cublas.load(cublasCandidates);
        } catch (NativeLibraries.NotFound e) {
            return no("no cuBLAS (tried " + describe(e.tried()) + "; install the CUDA toolkit's cuBLAS or set -D"
                    + NativeLibraries.CUBLAS_PROPERTY + "=/path/to/libcublas.so.N)", kernels, cu);
        }
        if (!kernels) {
            return no(KernelImages.MISSING, false, cu);
        }
        long mem = cu.totalMemory(dev);
        return new Probe(true, name + " (compute " + major + "." + minor + ", " + Units.bytes(mem) + "), driver CUDA "
                + KernelImages.versionString(driverVersion) + ", " + blas.libraryName + ", via " + cu.libraryName,
                cu, blas, ordinal);
    }
}
