package io.cogvideo.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
import java.util.Optional;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through the FFM API: the calls the backend needs, each as a typed Java
 * method that checks the {@code CUresult} and throws a {@link CudaException} naming the call and the error
 * ({@code cuGetErrorName}). Symbols are bound by their versioned ABI names ({@code cuMemAlloc_v2}, ...), as the
 * {@code #define}s of {@code cuda.h} map them; a symbol missing from an old driver fails only when it is used.
 *
 * <p>Handles ({@code CUcontext}, {@code CUstream}, ...) are raw addresses ({@code long}); device pointers are
 * {@code CUdeviceptr} values ({@code long}).
 */
@SuppressWarnings("restricted") // native access is this class's purpose
final class CudaDriver {
    static final int CUDA_SUCCESS = 0;
    static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36;
    static final int CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37;
    static final int CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115;
    static final int CU_STREAM_NON_BLOCKING = 1;
    static final int CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;
    static final int CU_JIT_INFO_LOG_BUFFER = 3;
    static final int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    static final int CU_JIT_ERROR_LOG_BUFFER = 5;
    static final int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

    private static final Linker LINKER = Linker.nativeLinker();

    final String libraryName;
    private final SymbolLookup lib;

    private final MethodHandle cuGetErrorName;
    private final MethodHandle cuGetErrorString;
    private final MethodHandle cuInit;
    private final MethodHandle cuDriverGetVersion;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuDeviceTotalMem;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuDevicePrimaryCtxRelease;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuMemAlloc;
    private final MethodHandle cuMemFree;
    private final MethodHandle cuMemAllocAsync;
    private final MethodHandle cuMemFreeAsync;
    private final MethodHandle cuDeviceGetDefaultMemPool;
    private final MethodHandle cuMemPoolSetAttribute;
    private final MethodHandle cuMemcpyHtoDAsync;
    private final MethodHandle cuMemcpyDtoHAsync;
    private final MethodHandle cuMemcpyDtoDAsync;
    private final MethodHandle cuMemsetD8Async;
    private final MethodHandle cuMemGetInfo;
    private final MethodHandle cuModuleLoadDataEx;
    private final MethodHandle cuModuleUnload;
    private final MethodHandle cuModuleGetFunction;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventDestroy;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventSynchronize;
    private final MethodHandle cuEventElapsedTime;

    private CudaDriver(NativeLibraries.Loaded loaded) {
        this.libraryName = loaded.name();
        this.lib = loaded.symbols();
        FunctionDescriptor iI = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        FunctionDescriptor iP = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        FunctionDescriptor iL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
        cuGetErrorName = bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorName");
        cuGetErrorString = bind(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorString");
        cuInit = bind(iI, "cuInit");
        cuDriverGetVersion = bind(iP, "cuDriverGetVersion");
        cuDeviceGetCount = bind(iP, "cuDeviceGetCount");
        cuDeviceGet = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceGet");
        cuDeviceGetName = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetName");
        cuDeviceGetAttribute = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                "cuDeviceGetAttribute");
        cuDeviceTotalMem = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceTotalMem_v2");
        cuDevicePrimaryCtxRetain = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                "cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = bind(iI, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
        cuCtxSetCurrent = bind(iL, "cuCtxSetCurrent");
        cuStreamCreate = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuStreamCreate");
        cuStreamDestroy = bind(iL, "cuStreamDestroy_v2", "cuStreamDestroy");
        cuStreamSynchronize = bind(iL, "cuStreamSynchronize");
        cuMemAlloc = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), "cuMemAlloc_v2");
        cuMemFree = bind(iL, "cuMemFree_v2");
        cuMemAllocAsync = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), "cuMemAllocAsync");
        cuMemFreeAsync = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), "cuMemFreeAsync");
        cuDeviceGetDefaultMemPool = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
                "cuDeviceGetDefaultMemPool");
        cuMemPoolSetAttribute = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS),
                "cuMemPoolSetAttribute");
        cuMemcpyHtoDAsync = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG),
                "cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                "cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                "cuMemcpyDtoDAsync_v2");
        cuMemsetD8Async = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, JAVA_LONG),
                "cuMemsetD8Async");
        cuMemGetInfo = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "cuMemGetInfo_v2");
        cuModuleLoadDataEx = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                "cuModuleLoadDataEx");
        cuModuleUnload = bind(iL, "cuModuleUnload");
        cuModuleGetFunction = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS),
                "cuModuleGetFunction");
        cuLaunchKernel = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), "cuLaunchKernel");
        cuEventCreate = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuEventCreate");
        cuEventDestroy = bind(iL, "cuEventDestroy_v2", "cuEventDestroy");
        cuEventRecord = bind(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), "cuEventRecord");
        cuEventSynchronize = bind(iL, "cuEventSynchronize");
        cuEventElapsedTime = bind(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG),
                "cuEventElapsedTime_v2", "cuEventElapsedTime");
    }

    /** Loads the driver library from the given candidates (see {@link NativeLibraries#driverCandidates}). */
    static CudaDriver load(java.util.List<String> candidates) throws NativeLibraries.NotFound {
        return new CudaDriver(NativeLibraries.loadFirst(candidates));
    }

    private MethodHandle bind(FunctionDescriptor fd, String... names) {
        for (String n : names) {
            Optional<MemorySegment> sym = lib.find(n);
            if (sym.isPresent()) {
                return LINKER.downcallHandle(sym.get(), fd);
            }
        }
        return null;
    }

    private static MethodHandle need(MethodHandle h, String name) {
        if (h == null) {
            throw new CogVideoException("the CUDA driver lacks " + name + "; update the NVIDIA driver");
        }
        return h;
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new CogVideoException("native call failed: " + t, t);
    }

    // ------------------------------------------------------------------------------------------------ errors

    /** {@code cuGetErrorName}, or {@code "CUresult <code>"} when the driver does not know the code. */
    String errorName(int rc) {
        return errorText(cuGetErrorName, rc, "CUresult " + rc);
    }

    /** {@code cuGetErrorString}, or {@code null}. */
    String errorString(int rc) {
        return errorText(cuGetErrorString, rc, null);
    }

    private static String errorText(MethodHandle h, int rc, String fallback) {
        if (h == null) {
            return fallback;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int r = (int) h.invokeExact(rc, out);
            MemorySegment p = out.get(ADDRESS, 0);
            if (r != CUDA_SUCCESS || p.address() == 0) {
                return fallback;
            }
            return p.reinterpret(512).getString(0);
        } catch (Throwable t) {
            return fallback;
        }
    }

    /** Throws a {@link CudaException} for a failed call. */
    void check(int rc, String call) {
        if (rc != CUDA_SUCCESS) {
            throw new CudaException(call, rc, errorName(rc), errorString(rc));
        }
    }

    // ------------------------------------------------------------------------------------------------ init, devices

    /** {@code cuInit(0)}; returns the {@code CUresult} (probing wants the code, not an exception). */
    int init() {
        try {
            return (int) need(cuInit, "cuInit").invokeExact(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check((int) need(cuDriverGetVersion, "cuDriverGetVersion").invokeExact(out), "cuDriverGetVersion");
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check((int) need(cuDeviceGetCount, "cuDeviceGetCount").invokeExact(out), "cuDeviceGetCount");
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check((int) need(cuDeviceGet, "cuDeviceGet").invokeExact(out, ordinal), "cuDeviceGet(" + ordinal + ")");
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String deviceName(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            check((int) need(cuDeviceGetName, "cuDeviceGetName").invokeExact(buf, 256, dev), "cuDeviceGetName");
            return buf.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int attribute(int dev, int attr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check((int) need(cuDeviceGetAttribute, "cuDeviceGetAttribute").invokeExact(out, attr, dev),
                    "cuDeviceGetAttribute(" + attr + ")");
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long totalMemory(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check((int) need(cuDeviceTotalMem, "cuDeviceTotalMem_v2").invokeExact(out, dev), "cuDeviceTotalMem");
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------------ context, stream

    long primaryContextRetain(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((int) need(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain").invokeExact(out, dev),
                    "cuDevicePrimaryCtxRetain");
            return out.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void primaryContextRelease(int dev) {
        try {
            check((int) need(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease").invokeExact(dev),
                    "cuDevicePrimaryCtxRelease");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setCurrent(long ctx) {
        try {
            check((int) need(cuCtxSetCurrent, "cuCtxSetCurrent").invokeExact(ctx), "cuCtxSetCurrent");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long streamCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((int) need(cuStreamCreate, "cuStreamCreate").invokeExact(out, flags), "cuStreamCreate");
            return out.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void streamDestroy(long stream) {
        try {
            check((int) need(cuStreamDestroy, "cuStreamDestroy").invokeExact(stream), "cuStreamDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void streamSynchronize(long stream) {
        try {
            check((int) need(cuStreamSynchronize, "cuStreamSynchronize").invokeExact(stream),
                    "cuStreamSynchronize (an earlier asynchronous failure may surface here; "
                            + "-Dcogvideo.cuda.syncEveryLaunch=true checks after every launch)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------------ memory

    boolean hasStreamOrderedAllocator() {
        return cuMemAllocAsync != null && cuMemFreeAsync != null && cuDeviceGetDefaultMemPool != null;
    }

    long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check((int) need(cuMemAlloc, "cuMemAlloc_v2").invokeExact(out, bytes), "cuMemAlloc(" + Units.bytes(bytes) + ")");
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memFree(long ptr) {
        try {
            check((int) need(cuMemFree, "cuMemFree_v2").invokeExact(ptr), "cuMemFree");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long memAllocAsync(long bytes, long stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check((int) need(cuMemAllocAsync, "cuMemAllocAsync").invokeExact(out, bytes, stream),
                    "cuMemAllocAsync(" + Units.bytes(bytes) + ")");
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memFreeAsync(long ptr, long stream) {
        try {
            check((int) need(cuMemFreeAsync, "cuMemFreeAsync").invokeExact(ptr, stream), "cuMemFreeAsync");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Keeps freed pool memory reserved (no release at synchronisation) on the device's default pool. */
    void keepPoolMemory(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pool = a.allocate(ADDRESS);
            check((int) need(cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool").invokeExact(pool, dev),
                    "cuDeviceGetDefaultMemPool");
            MemorySegment value = a.allocate(JAVA_LONG);
            value.set(JAVA_LONG, 0, -1L); // UINT64_MAX
            check((int) need(cuMemPoolSetAttribute, "cuMemPoolSetAttribute").invokeExact(
                    pool.get(ADDRESS, 0).address(), CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, value),
                    "cuMemPoolSetAttribute(RELEASE_THRESHOLD)");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyHtoD(long dst, MemorySegment src, long bytes, long stream) {
        try {
            check((int) need(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2").invokeExact(dst, src, bytes, stream),
                    "cuMemcpyHtoDAsync(" + Units.bytes(bytes) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyDtoH(MemorySegment dst, long src, long bytes, long stream) {
        try {
            check((int) need(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2").invokeExact(dst, src, bytes, stream),
                    "cuMemcpyDtoHAsync(" + Units.bytes(bytes) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyDtoD(long dst, long src, long bytes, long stream) {
        try {
            check((int) need(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2").invokeExact(dst, src, bytes, stream),
                    "cuMemcpyDtoDAsync(" + Units.bytes(bytes) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memsetD8(long dst, byte value, long bytes, long stream) {
        try {
            check((int) need(cuMemsetD8Async, "cuMemsetD8Async").invokeExact(dst, value, bytes, stream),
                    "cuMemsetD8Async(" + Units.bytes(bytes) + ")");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code [free, total]} bytes of the current context's device. */
    long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            check((int) need(cuMemGetInfo, "cuMemGetInfo_v2").invokeExact(free, total), "cuMemGetInfo");
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------------ modules, launch

    /**
     * {@code cuModuleLoadDataEx} of a NUL-terminated PTX image, with the JIT error log captured into the exception
     * message when it fails.
     */
    long moduleLoad(MemorySegment image, String what) {
        try (Arena a = Arena.ofConfined()) {
            int logSize = 16 * 1024;
            MemorySegment errLog = a.allocate(logSize);
            MemorySegment options = a.allocate(JAVA_INT, 2);
            options.setAtIndex(JAVA_INT, 0, CU_JIT_ERROR_LOG_BUFFER);
            options.setAtIndex(JAVA_INT, 1, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            MemorySegment values = a.allocate(ADDRESS, 2);
            values.setAtIndex(ADDRESS, 0, errLog);
            values.setAtIndex(ADDRESS, 1, MemorySegment.ofAddress(logSize));
            MemorySegment out = a.allocate(ADDRESS);
            int rc = (int) need(cuModuleLoadDataEx, "cuModuleLoadDataEx").invokeExact(out, image, 2, options, values);
            if (rc != CUDA_SUCCESS) {
                String log = errLog.getString(0).strip();
                String detail = errorString(rc);
                if (!log.isEmpty()) {
                    detail = (detail == null ? "" : detail + "; ") + "JIT log: " + log;
                }
                throw new CudaException("cuModuleLoadDataEx(" + what + ")", rc, errorName(rc), detail);
            }
            return out.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void moduleUnload(long module) {
        try {
            check((int) need(cuModuleUnload, "cuModuleUnload").invokeExact(module), "cuModuleUnload");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long moduleFunction(long module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((int) need(cuModuleGetFunction, "cuModuleGetFunction").invokeExact(out, module,
                    a.allocateFrom(name)), "cuModuleGetFunction(" + name + ")");
            return out.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuLaunchKernel}; {@code params} is the {@code void*[]} of pointers to each argument. */
    int launchRaw(long function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, long stream,
            MemorySegment params) {
        try {
            return (int) need(cuLaunchKernel, "cuLaunchKernel").invokeExact(function, gx, gy, gz, bx, by, bz,
                    sharedBytes, stream, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------------------ events

    long eventCreate() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check((int) need(cuEventCreate, "cuEventCreate").invokeExact(out, 0), "cuEventCreate");
            return out.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void eventDestroy(long event) {
        try {
            check((int) need(cuEventDestroy, "cuEventDestroy").invokeExact(event), "cuEventDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void eventRecord(long event, long stream) {
        try {
            check((int) need(cuEventRecord, "cuEventRecord").invokeExact(event, stream), "cuEventRecord");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void eventSynchronize(long event) {
        try {
            check((int) need(cuEventSynchronize, "cuEventSynchronize").invokeExact(event), "cuEventSynchronize");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    float eventElapsedMs(long start, long end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_FLOAT);
            check((int) need(cuEventElapsedTime, "cuEventElapsedTime").invokeExact(out, start, end),
                    "cuEventElapsedTime");
            return out.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
