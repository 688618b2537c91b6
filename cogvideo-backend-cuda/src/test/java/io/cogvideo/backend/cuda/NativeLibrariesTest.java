package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Where the driver and cuBLAS are looked for, in which order. */
class NativeLibrariesTest {

    @Test
    void driverIsLookedUpByVersionedNameFirstAndNeverInStubs() {
        List<String> c = NativeLibraries.driverCandidates(null);
        assertThat(c.get(0)).isEqualTo("libcuda.so.1");
        assertThat(c).contains("/usr/local/nvidia/lib64/libcuda.so.1", "libcuda.so");
        assertThat(c.indexOf("libcuda.so")).isGreaterThan(c.indexOf("/usr/lib64/libcuda.so.1"));
        assertThat(c).noneMatch(s -> s.contains("stubs"));
        assertThat(NativeLibraries.driverCandidates("/opt/drv/libcuda.so.1").get(0)).isEqualTo("/opt/drv/libcuda.so.1");
    }

    @Test
    void cublasNamesAreNewestFirstAndRespectTheDriver() {
        assertThat(NativeLibraries.cublasNames(13000)).containsExactly("libcublas.so.13", "libcublas.so.12",
                "libcublas.so");
        assertThat(NativeLibraries.cublasNames(12040)).containsExactly("libcublas.so.12", "libcublas.so");
        assertThat(NativeLibraries.cublasNames(0)).containsExactly("libcublas.so.13", "libcublas.so.12",
                "libcublas.so");
    }

    @Test
    void cublasCandidatesTryEachNameBareThenInTheToolkitDirectories() {
        List<String> c = NativeLibraries.cublasCandidates(null, 13000, Map.of("CUDA_HOME", "/opt/cuda-13"));
        assertThat(c).containsExactly(
                "libcublas.so.13", "/opt/cuda-13/lib64/libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.13",
                "libcublas.so.12", "/opt/cuda-13/lib64/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.12",
                "libcublas.so", "/opt/cuda-13/lib64/libcublas.so", "/usr/local/cuda/lib64/libcublas.so");
        List<String> withProperty = NativeLibraries.cublasCandidates(" /x/libcublas.so.12 ", 13000, Map.of());
        assertThat(withProperty.get(0)).isEqualTo("/x/libcublas.so.12");
        assertThat(withProperty).contains("/usr/local/cuda/lib64/libcublas.so.13");
        assertThat(NativeLibraries.bareNames(c)).containsExactly("libcublas.so.13", "libcublas.so.12",
                "libcublas.so");
    }

    @Test
    void reasonsNameTheLibrariesAndWhereTheyWereLookedFor() {
        assertThat(Probe.describe(NativeLibraries.cublasCandidates(null, 13000, Map.of()))).isEqualTo(
                "libcublas.so.13, libcublas.so.12, libcublas.so in the loader path and /usr/local/cuda/lib64");
        assertThat(Probe.describe(NativeLibraries.driverCandidates(null))).startsWith(
                "libcuda.so.1, libcuda.so in the loader path and /usr/local/nvidia/lib64, /usr/lib/wsl/lib");
        assertThat(Probe.describe(List.of("/a/libx.so"))).isEqualTo("libx.so in /a");
    }

    @Test
    void missingLibrariesReportEveryCandidateInOrder() {
        List<String> c = List.of("libcogvideo-does-not-exist.so.7", "/nonexistent/dir/libx.so");
        assertThatThrownBy(() -> NativeLibraries.loadFirst(c)).isInstanceOfSatisfying(NativeLibraries.NotFound.class,
                e -> assertThat(e.tried()).containsExactlyElementsOf(c));
    }
}
