package io.cogvideo.backend.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.cogvideo.CogVideoException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One device as the backend uses it: the device's primary context (shared with cuBLAS, which runs on the CUDA
 * runtime), one non-blocking stream that every operation is queued on, the stream-ordered allocator (so freeing
 * a temporary never synchronises), a cuBLAS handle on that stream, and the kernel module, loaded from the bundled
 * PTX on first use and cached for the life of the context.
 *
 * <p>Ordering: all work of all threads goes to the one stream, so operations run in the order they were issued and
 * memory freed by one request can be reused by the next in stream order. The driver and cuBLAS calls are
 * thread-safe; GEMMs are serialised on a lock because the cuBLAS handle is shared.
 */
final class CudaContext implements Device {
    final CudaDriver cu;
    final Cublas blas;
    final int ordinal;
    final int device;
    final String deviceName;
    final int ccMajor;
    final int ccMinor;
    final int multiprocessors;
    final long totalMemory;
    final int driverVersion;
    final String arch;
    final boolean pools;
    final boolean syncEveryLaunch;
    private final long ctx;
    final long stream;
    private final long blasHandle;
    final int cublasVersion;
    private final Object gemmLock = new Object();
    private final ConcurrentHashMap<String, Long> functions = new ConcurrentHashMap<>();
    private volatile long module;
    private volatile boolean closed;
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong peakBytes = new AtomicLong();

    CudaContext(CudaDriver cu, Cublas blas, int ordinal, boolean syncEveryLaunch) {
        this.cu = cu;
        this.blas = blas;
        this.ordinal = ordinal;
        this.syncEveryLaunch = syncEveryLaunch;
        this.device = cu.device(ordinal);
        this.deviceName = cu.deviceName(device);
        this.ccMajor = cu.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.ccMinor = cu.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = cu.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.totalMemory = cu.totalMemory(device);
        this.driverVersion = cu.driverVersion();
        this.arch = KernelImages.archFor(ccMajor, ccMinor);
        if (arch == null) {
            throw new CogVideoException(deviceName + " has compute capability " + ccMajor + "." + ccMinor
                    + "; the cuda backend's kernels need 8.0 or newer");
        }
        this.ctx = cu.primaryContextRetain(device);
        long s = 0;
        long h = 0;
        try {
            cu.setCurrent(ctx);
            s = cu.streamCreate(CudaDriver.CU_STREAM_NON_BLOCKING);
            boolean p = cu.hasStreamOrderedAllocator()
                    && cu.attribute(device, CudaDriver.CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED) == 1;
            if (p) {
                cu.keepPoolMemory(device);
            }
            this.pools = p;
            h = blas.createHandle();
            blas.setStream(h, s);
            blas.setDefaultMath(h);
            this.cublasVersion = blas.version(h);
        } catch (RuntimeException e) {
            try {
                if (h != 0) {
                    blas.destroyHandle(h);
                }
                if (s != 0) {
                    cu.streamDestroy(s);
                }
                cu.primaryContextRelease(device);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        this.stream = s;
        this.blasHandle = h;
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    void makeCurrent() {
        if (closed) {
            throw new CogVideoException("the cuda backend is closed");
        }
        cu.setCurrent(ctx);
    }

    boolean isClosed() {
        return closed;
    }

    // ------------------------------------------------------------------------------------------------ memory

    /** Device memory of {@code bytes} (stream-ordered where supported); 0 for 0 bytes. */
    @Override
    public long alloc(long bytes) {
        if (bytes <= 0) {
            return 0;
        }
        makeCurrent();
        long p = pools ? cu.memAllocAsync(bytes, stream) : cu.memAlloc(bytes);
        long live = liveBytes.addAndGet(bytes);
        peakBytes.accumulateAndGet(live, Math::max);
        return p;
    }

    /** Frees memory from {@link #alloc}; ignored once the context is closed (the context took it with it). */
    @Override
    public void free(long ptr, long bytes) {
        if (ptr == 0 || closed) {
            return;
        }
        cu.setCurrent(ctx);
        if (pools) {
            cu.memFreeAsync(ptr, stream);
        } else {
            cu.memFree(ptr);
        }
        liveBytes.addAndGet(-bytes);
    }

    /** Bytes currently allocated through this context, and the most ever. */
    long liveBytes() {
        return liveBytes.get();
    }

    long peakBytes() {
        return peakBytes.get();
    }

    @Override
    public void memsetZero(long ptr, long bytes) {
        if (bytes > 0) {
            makeCurrent();
            cu.memsetD8(ptr, (byte) 0, bytes, stream);
        }
    }

    /** Queues a host-to-device copy. The host memory may be reused on return (pageable copies are staged). */
    @Override
    public void upload(long dst, MemorySegment src, long bytes) {
        if (bytes > 0) {
            makeCurrent();
            cu.copyHtoD(dst, src, bytes, stream);
        }
    }

    /** Copies device memory to the host after all queued work; returns when the bytes are there. */
    @Override
    public void download(MemorySegment dst, long src, long bytes) {
        makeCurrent();
        if (bytes > 0) {
            cu.copyDtoH(dst, src, bytes, stream);
        }
        cu.streamSynchronize(stream);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        if (bytes > 0) {
            makeCurrent();
            cu.copyDtoD(dst, src, bytes, stream);
        }
    }

    @Override
    public void sync() {
        makeCurrent();
        cu.streamSynchronize(stream);
    }

    /** {@code [free, total]} bytes on the device (the pool's reserved memory counts as used). */
    long[] memInfo() {
        makeCurrent();
        return cu.memInfo();
    }

    // ------------------------------------------------------------------------------------------------ kernels

    private long module() {
        long m = module;
        if (m == 0) {
            synchronized (this) {
                m = module;
                if (m == 0) {
                    makeCurrent();
                    String ptx = KernelImages.read(arch);
                    try (Arena a = Arena.ofConfined()) {
                        m = cu.moduleLoad(a.allocateFrom(ptx), KernelImages.resource(arch));
                    }
                    module = m;
                }
            }
        }
        return m;
    }

    private long function(String name) {
        Long f = functions.get(name);
        if (f == null) {
            long m = module();
            f = functions.computeIfAbsent(name, n -> {
                makeCurrent();
                return cu.moduleFunction(m, n);
            });
        }
        return f;
    }

    /** Loads the module now (JIT compilation of the PTX happens here, once per context). */
    void loadKernels() {
        module();
    }

    /**
     * Launches {@code k} on the stream. Arguments follow {@link Kernel#params()}: {@code Long} for pointers and
     * 64-bit integers, {@code Integer}, {@code Float}, and the packed bytes for {@link Kernel.Param#ATTN}.
     */
    @Override
    public void launch(Kernel k, int gx, int gy, int gz, int block, int sharedBytes, Object... args) {
        k.check(args);
        List<Kernel.Param> params = k.params();
        long fn = function(k.name());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ptrs = a.allocate(ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                ptrs.setAtIndex(ADDRESS, i, cell(a, k, i, params.get(i), args[i]));
            }
            makeCurrent();
            int rc = cu.launchRaw(fn, gx, gy, gz, block, 1, 1, sharedBytes, stream, ptrs);
            if (rc != CudaDriver.CUDA_SUCCESS) {
                cu.check(rc, "cuLaunchKernel(" + k.name() + ", grid " + gx + "x" + gy + "x" + gz + ", block " + block
                        + ")");
            }
        }
        if (syncEveryLaunch) {
            int rc = syncCode();
            if (rc != CudaDriver.CUDA_SUCCESS) {
                cu.check(rc, "kernel " + k.name() + " (checked by -Dcogvideo.cuda.syncEveryLaunch)");
            }
        }
    }

    private int syncCode() {
        try {
            cu.streamSynchronize(stream);
            return CudaDriver.CUDA_SUCCESS;
        } catch (CudaException e) {
            return e.code();
        }
    }

    /** One argument in native memory (types already checked by {@link Kernel#check}). */
    static MemorySegment cell(Arena a, Kernel k, int i, Kernel.Param p, Object v) {
        return switch (p) {
            case PTR, I64 -> a.allocateFrom(JAVA_LONG, (Long) v);
            case I32 -> a.allocateFrom(JAVA_INT, (Integer) v);
            case F32 -> a.allocateFrom(JAVA_FLOAT, (Float) v);
            case ATTN -> {
                MemorySegment s = a.allocate(AttentionParams.SIZE, 8);
                s.copyFrom(MemorySegment.ofArray((byte[]) v));
                yield s;
            }
        };
    }

    // ------------------------------------------------------------------------------------------------ cuBLAS

    @Override
    public void gemm(long w, long x, long y, int rows, int in, int out, DeviceType abType, float beta) {
        synchronized (gemmLock) {
            makeCurrent();
            blas.gemm(blasHandle, w, x, y, rows, in, out, abType.cudaDataType, beta);
        }
        if (syncEveryLaunch) {
            int rc = syncCode();
            if (rc != CudaDriver.CUDA_SUCCESS) {
                cu.check(rc, "cublasGemmEx (checked by -Dcogvideo.cuda.syncEveryLaunch)");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ life cycle

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            cu.setCurrent(ctx);
            RuntimeException first = null;
            try {
                cu.streamSynchronize(stream);
            } catch (RuntimeException e) {
                first = e;
            }
            closed = true;
            try {
                blas.destroyHandle(blasHandle);
                if (module != 0) {
                    cu.moduleUnload(module);
                }
                cu.streamDestroy(stream);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
            try {
                cu.primaryContextRelease(device);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    @Override
    public String describe() {
        return deviceName + " (compute " + ccMajor + "." + ccMinor + ", " + multiprocessors + " SMs, "
                + Units.bytes(totalMemory) + "), driver CUDA " + KernelImages.versionString(driverVersion) + ", "
                + blas.libraryName + (cublasVersion > 0 ? " " + cublasVersion : "") + ", kernels " + arch
                + (pools ? "" : ", no stream-ordered allocator");
    }
}
