package io.cogvideo.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.cogvideo.CogVideoException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * cuBLAS ({@code libcublas.so.13} / {@code .12}) through the FFM API: a handle bound to the backend's stream and
 * {@code cublasGemmEx} for {@code y = x · Wᵀ} with fp32, fp16 or bf16 weights, fp32 output and fp32 compute.
 */
@SuppressWarnings("restricted") // native access is this class's purpose
final class Cublas {
    static final int CUBLAS_OP_N = 0;
    static final int CUBLAS_OP_T = 1;
    static final int CUBLAS_DEFAULT_MATH = 0;
    static final int CUBLAS_COMPUTE_32F = 68;
    static final int CUBLAS_GEMM_DEFAULT = -1;
    static final int CUDA_R_32F = 0;
    static final int CUDA_R_16F = 2;
    static final int CUDA_R_16BF = 14;

    /** cublasStatus_t names, for libraries without {@code cublasGetStatusName}. */
    static final Map<Integer, String> STATUS_NAMES = Map.of(0, "CUBLAS_STATUS_SUCCESS", 1,
            "CUBLAS_STATUS_NOT_INITIALIZED", 3, "CUBLAS_STATUS_ALLOC_FAILED", 7, "CUBLAS_STATUS_INVALID_VALUE", 8,
            "CUBLAS_STATUS_ARCH_MISMATCH", 11, "CUBLAS_STATUS_MAPPING_ERROR", 13, "CUBLAS_STATUS_EXECUTION_FAILED", 14,
            "CUBLAS_STATUS_INTERNAL_ERROR", 15, "CUBLAS_STATUS_NOT_SUPPORTED", 16, "CUBLAS_STATUS_LICENSE_ERROR");

    private static final Linker LINKER = Linker.nativeLinker();

    final String libraryName;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle getVersion;
    private final MethodHandle setMathMode;
    private final MethodHandle gemmEx;
    private final MethodHandle statusName;

    private Cublas(NativeLibraries.Loaded loaded) {
        this.libraryName = loaded.name();
        SymbolLookup lib = loaded.symbols();
        create = bind(lib, FunctionDescriptor.of(JAVA_INT, ADDRESS), "cublasCreate_v2");
        destroy = bind(lib, FunctionDescriptor.of(JAVA_INT, JAVA_LONG), "cublasDestroy_v2");
        setStream = bind(lib, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), "cublasSetStream_v2");
        getVersion = bind(lib, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS), "cublasGetVersion_v2");
        setMathMode = bind(lib, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT), "cublasSetMathMode");
        // cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
        //              computeType, algo)
        gemmEx = bind(lib, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), "cublasGemmEx");
        statusName = bind(lib, FunctionDescriptor.of(ADDRESS, JAVA_INT), "cublasGetStatusName");
        if (create == null || gemmEx == null || setStream == null) {
            throw new CogVideoException(loaded.name() + " does not export cublasCreate_v2/cublasSetStream_v2/"
                    + "cublasGemmEx; is it cuBLAS 12 or newer?");
        }
    }

    static Cublas load(List<String> candidates) throws NativeLibraries.NotFound {
        return new Cublas(NativeLibraries.loadFirst(candidates));
    }

    private static MethodHandle bind(SymbolLookup lib, FunctionDescriptor fd, String name) {
        Optional<MemorySegment> sym = lib.find(name);
        return sym.map(s -> LINKER.downcallHandle(s, fd)).orElse(null);
    }

    String statusName(int status) {
        if (statusName != null) {
            try {
                MemorySegment p = (MemorySegment) statusName.invokeExact(status);
                if (p.address() != 0) {
                    return p.reinterpret(256).getString(0);
                }
            } catch (Throwable t) {
                // fall through to the table
            }
        }
        return STATUS_NAMES.getOrDefault(status, "cublasStatus " + status);
    }

    void check(int status, String call) {
        if (status != 0) {
            throw new CudaException(call, status, statusName(status), null);
        }
    }

    long createHandle() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((int) create.invokeExact(out), "cublasCreate_v2");
            return out.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw CudaDriver.rethrow(t);
        }
    }

    void destroyHandle(long handle) {
        if (destroy == null) {
            return;
        }
        try {
            check((int) destroy.invokeExact(handle), "cublasDestroy_v2");
        } catch (Throwable t) {
            throw CudaDriver.rethrow(t);
        }
    }

    void setStream(long handle, long stream) {
        try {
            check((int) setStream.invokeExact(handle, stream), "cublasSetStream_v2");
        } catch (Throwable t) {
            throw CudaDriver.rethrow(t);
        }
    }

    /** Default math: fp32 GEMMs stay fp32 (no TF32), fp16/bf16 inputs use tensor cores. */
    void setDefaultMath(long handle) {
        if (setMathMode == null) {
            return;
        }
        try {
            check((int) setMathMode.invokeExact(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
        } catch (Throwable t) {
            throw CudaDriver.rethrow(t);
        }
    }

    int version(long handle) {
        if (getVersion == null) {
            return 0;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check((int) getVersion.invokeExact(handle, out), "cublasGetVersion_v2");
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw CudaDriver.rethrow(t);
        }
    }

    /**
     * Row-major {@code y[rows, out] = x[rows, in] · W[out, in]ᵀ} (fp32 {@code y}). In cuBLAS's column-major view this
     * is {@code yᵀ = op(W) · xᵀ} with {@code op = T}: {@code m = out, n = rows, k = in}, all leading dimensions the
     * row lengths. {@code x} and {@code W} have the same cudaDataType ({@code abType}).
     */
    void gemm(long handle, long w, long x, long y, int rows, int in, int out, int abType, float beta) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment alpha = a.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment b = a.allocateFrom(JAVA_FLOAT, beta);
            int rc = (int) gemmEx.invokeExact(handle, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, alpha, w, abType, in,
                    x, abType, in, b, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            if (rc != 0) {
                check(rc, "cublasGemmEx(m=" + out + ", n=" + rows + ", k=" + in + ", type " + abType + ")");
            }
        } catch (Throwable t) {
            throw CudaDriver.rethrow(t);
        }
    }
}
