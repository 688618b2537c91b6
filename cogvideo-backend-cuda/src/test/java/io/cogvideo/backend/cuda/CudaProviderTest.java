package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider;
import io.cogvideo.spi.Backends;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The provider as the rest of the SDK sees it, on whatever machine the tests run: a reason when CUDA cannot run,
 * a clean exception (never a JVM crash) when created anyway, discovery through {@link Backends}, and the JDK 17
 * behaviour in a real JDK 17 when one is installed.
 */
class CudaProviderTest {
    private final CudaBackendProvider provider = new CudaBackendProvider();

    @Test
    void identityAndRankAboveTheCpuBackend() {
        assertThat(provider.name()).isEqualTo("cuda");
        assertThat(provider.rank()).isGreaterThan(10);
    }

    @Test
    void availabilityAlwaysHasAReasonAndIsCached() {
        BackendProvider.Availability a = provider.availability();
        assertThat(a.reason()).isNotBlank();
        assertThat(new CudaBackendProvider().availability()).isEqualTo(a);
        System.out.println("[cuda] availability here: " + (a.available() ? "available" : "not available") + " - "
                + a.reason());
    }

    @Test
    void withoutAUsableGpuTheReasonIsSpecificAndCreateFailsCleanly() {
        BackendProvider.Availability a = provider.availability();
        assumeFalse(a.available(), "a usable GPU is present: " + a.reason());
        assertThat(a.reason()).containsAnyOf("no CUDA driver: libcuda.so.1 not found", "cuInit failed: CUDA_ERROR_",
                "no CUDA device", "compute capability", "the NVIDIA driver supports CUDA", "no cuBLAS (tried ",
                "kernels not compiled into this build");
        if (a.reason().startsWith("no CUDA driver")) {
            assertThat(a.reason()).contains("tried libcuda.so.1");
        }
        if (!KernelImages.present()) {
            assertThat(a.reason()).contains("kernels not compiled into this build");
        }
        assertThatThrownBy(() -> provider.create(BackendOptions.defaults())).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("not available").hasMessageContaining(a.reason());
        assertThatThrownBy(() -> provider.create(new BackendOptions(0, io.cogvideo.spi.DType.FLOAT32)))
                .isInstanceOf(CogVideoException.class);
    }

    @Test
    void discoveryListsTheBackendWithItsReason() {
        List<Backends.Candidate> all = Backends.discover();
        Backends.Candidate cuda = all.stream().filter(c -> c.name().equals("cuda")).findFirst().orElseThrow();
        assertThat(cuda.rank()).isEqualTo(CudaBackendProvider.RANK);
        assertThat(cuda.availability()).isEqualTo(provider.availability());
        assertThat(Backends.describe(all)).contains("cuda (rank 20): ")
                .contains(provider.availability().reason());
        if (!provider.availability().available()) {
            assertThatThrownBy(() -> Backends.select("cuda")).isInstanceOf(CogVideoException.class)
                    .hasMessageContaining("backend 'cuda'").hasMessageContaining("is not available");
        }
    }

    @Test
    void jdkCheckNamesTheRunningVersion() {
        assertThat(CudaBackendProvider.jdkProblem(17)).startsWith("needs JDK 22+ (running 17)");
        assertThat(CudaBackendProvider.jdkProblem(21)).startsWith("needs JDK 22+ (running 21)");
        assertThat(CudaBackendProvider.jdkProblem(22)).isNull();
        assertThat(CudaBackendProvider.jdkProblem(Runtime.version().feature())).isNull();
    }

    @Test
    void providerClassIsJava17Bytecode() throws Exception {
        for (String c : new String[] {"CudaBackendProvider", "CudaSupport"}) {
            try (var in = CudaBackendProvider.class.getResourceAsStream(c + ".class")) {
                byte[] head = in.readNBytes(8);
                int major = ((head[6] & 0xff) << 8) | (head[7] & 0xff);
                assertThat(major).as(c + " class file version").isEqualTo(61);
            }
        }
        try (var in = CudaBackendProvider.class.getResourceAsStream("CudaBackend.class")) {
            byte[] head = in.readNBytes(8);
            assertThat(((head[6] & 0xff) << 8) | (head[7] & 0xff)).as("FFM part").isEqualTo(66);
        }
    }

    /** The jar's provider on a real JDK 17: loads through ServiceLoader and says it needs JDK 22+. */
    @Test
    void onJdk17TheProviderReportsTheJdkInsteadOfFailingToLoad() throws Exception {
        Path java17 = findJdk17();
        assumeTrue(java17 != null, "no JDK 17 installed (looked in /usr/lib/jvm and $JAVA17_HOME)");
        // the minimal class path: this module's classes, the api, slf4j-api (works under surefire and other launchers)
        String cp = String.join(File.pathSeparator, location(CudaBackendProvider.class), location(Backends.class),
                location(org.slf4j.LoggerFactory.class));
        Process p = new ProcessBuilder(java17.toString(), "-cp", cp, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "io.cogvideo.backend.cuda.CudaBackendProvider").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("cuda backend (rank 20): not available - needs JDK 22+ (running 17)")
                .contains("cuda (rank 20): skipped - needs JDK 22+ (running 17)")
                .doesNotContain("UnsupportedClassVersionError").doesNotContain("provider failed to load");
    }

    private static String location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    static Path findJdk17() {
        String env = System.getenv("JAVA17_HOME");
        if (env != null && Files.isExecutable(Path.of(env, "bin", "java"))) {
            return Path.of(env, "bin", "java");
        }
        for (String d : new String[] {"/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-17-jdk-amd64",
                "/usr/lib/jvm/java-17-openjdk"}) {
            Path j = Path.of(d, "bin", "java");
            if (Files.isExecutable(j)) {
                return j;
            }
        }
        return null;
    }
}
