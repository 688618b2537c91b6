package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The PTX images built by nvcc into the jar ({@code io/cogvideo/backend/cuda/ptx/cogvideo_sm80.ptx} and
 * {@code _sm90.ptx}) and the choice between them: compute capability 9.0 and newer loads the sm_90 PTX, 8.x the sm_80
 * one (the driver JIT-compiles either for the actual GPU); older GPUs are not supported (bf16 and the attention
 * kernels assume sm_80).
 */
final class KernelImages {
    static final String DIR = "/io/cogvideo/backend/cuda/ptx/";
    static final String[] ARCHS = {"sm_80", "sm_90"};
    static final String MISSING = "kernels not compiled into this build (nvcc was not found at build time; "
            + "rebuild with CUDA's nvcc at /usr/local/cuda/bin/nvcc, or -Pcuda-kernels -Dnvcc.executable=...)";

    private static final Pattern RELEASE = Pattern.compile("Cuda compilation tools, release (\\d+)\\.(\\d+)");

    private KernelImages() {
    }

    static String resource(String arch) {
        return DIR + "cogvideo_" + arch.replace("_", "") + ".ptx";
    }

    /** Whether every PTX image is on the class path of {@code loader}. */
    static boolean present(ClassLoader loader) {
        for (String a : ARCHS) {
            if (loader.getResource(resource(a).substring(1)) == null) {
                return false;
            }
        }
        return true;
    }

    static boolean present() {
        return present(KernelImages.class.getClassLoader());
    }

    /** The PTX target for a compute capability, or {@code null} below 8.0. */
    static String archFor(int ccMajor, int ccMinor) {
        if (ccMajor >= 9) {
            return "sm_90";
        }
        if (ccMajor == 8) {
            return "sm_80";
        }
        return null;
    }

    /** The PTX text of an arch. */
    static String read(String arch) {
        String r = resource(arch);
        try (InputStream in = KernelImages.class.getResourceAsStream(r)) {
            if (in == null) {
                throw new CogVideoException(MISSING + " [missing resource " + r + "]");
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The CUDA release that generated a PTX image as a driver version number ({@code 13000} for 13.0), read from
     * nvcc's header comment; 0 if absent. The driver can JIT-compile PTX only from a release it supports.
     */
    static int toolkitVersion(String ptx) {
        Matcher m = RELEASE.matcher(ptx.length() > 4096 ? ptx.substring(0, 4096) : ptx);
        if (!m.find()) {
            return 0;
        }
        return Integer.parseInt(m.group(1)) * 1000 + Integer.parseInt(m.group(2)) * 10;
    }

    /** The toolkit release of the bundled sm_90 image (0 if the kernels are missing). */
    static int bundledToolkitVersion() {
        String r = resource("sm_90");
        try (InputStream in = KernelImages.class.getResourceAsStream(r)) {
            if (in == null) {
                return 0;
            }
            return toolkitVersion(new String(in.readNBytes(4096), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return 0;
        }
    }

    /** {@code 13000 -> "13.0"}. */
    static String versionString(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }
}
