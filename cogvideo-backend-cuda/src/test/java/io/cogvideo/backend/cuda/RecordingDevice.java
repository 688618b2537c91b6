package io.cogvideo.backend.cuda;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Device} without a GPU, for driving {@link CudaBackend} in tests: memory is host shadow memory at fake
 * addresses (so uploads, memsets, copies and downloads really move bytes), kernels and GEMMs do nothing but are
 * checked: argument types against the kernel's parameter list, every pointer (also those inside the attention
 * parameter struct) inside a live allocation, grid and block limits, GEMM operand sizes. Frees must match
 * allocations exactly (no double free, no unknown pointer). Every call is also appended to {@link #calls} as one
 * line without addresses ({@code launch cv_gelu_k 1x1x1/256}, {@code gemm 2x64->192 F16}, {@code alloc 1536}, ...),
 * so a test can compare the device calls of a model step with a recorded sequence. Thread-safe.
 */
@SuppressWarnings("restricted")
final class RecordingDevice implements Device {
    private final int sms;
    private final TreeMap<Long, byte[]> live = new TreeMap<>();
    private long next = 0x7f00_0000_0000L;
    final Map<String, AtomicInteger> launches = new ConcurrentHashMap<>();
    final AtomicInteger gemms = new AtomicInteger();
    private final List<String> calls = new ArrayList<>();
    private boolean closed;

    RecordingDevice(int sms) {
        this.sms = sms;
    }

    @Override
    public int multiprocessors() {
        return sms;
    }

    @Override
    public String describe() {
        return "recording fake device, " + sms + " SMs";
    }

    private synchronized void record(String call) {
        calls.add(call);
    }

    /** The calls recorded so far, from index {@code from} on. */
    synchronized List<String> calls(int from) {
        return List.copyOf(calls.subList(from, calls.size()));
    }

    /** Number of calls recorded so far. */
    synchronized int callCount() {
        return calls.size();
    }

    @Override
    public synchronized long alloc(long bytes) {
        record("alloc " + bytes);
        if (bytes <= 0) {
            return 0;
        }
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new AssertionError("fake device: allocation of " + bytes + " bytes too large for a test");
        }
        long base = next;
        next += (bytes + 255) / 256 * 256 + 4096; // a gap: an overrun does not land in the next allocation
        live.put(base, new byte[(int) bytes]);
        return base;
    }

    @Override
    public synchronized void free(long ptr, long bytes) {
        if (ptr == 0 || closed) {
            return;
        }
        record("free " + bytes);
        byte[] m = live.remove(ptr);
        if (m == null) {
            throw new AssertionError("free of an unknown pointer or double free: " + Long.toHexString(ptr));
        }
        if (m.length != bytes) {
            throw new AssertionError("free of " + bytes + " bytes, allocation has " + m.length);
        }
    }

    synchronized int liveAllocations() {
        return live.size();
    }

    /** The shadow array holding [ptr, ptr + bytes) and the offset of ptr in it. */
    private synchronized Map.Entry<Long, byte[]> region(long ptr, long bytes, String what) {
        Map.Entry<Long, byte[]> e = live.floorEntry(ptr);
        if (e == null || ptr + bytes > e.getKey() + e.getValue().length || (bytes == 0 && ptr >= e.getKey()
                + Math.max(1, e.getValue().length))) {
            throw new AssertionError(what + ": [" + Long.toHexString(ptr) + ", +" + bytes
                    + ") is not inside a live allocation (use after free or overrun)");
        }
        return e;
    }

    @Override
    public void memsetZero(long ptr, long bytes) {
        record("memset " + bytes);
        if (bytes > 0) {
            var e = region(ptr, bytes, "memset");
            int off = (int) (ptr - e.getKey());
            java.util.Arrays.fill(e.getValue(), off, off + (int) bytes, (byte) 0);
        }
    }

    @Override
    public void upload(long dst, MemorySegment src, long bytes) {
        record("upload " + bytes);
        if (bytes > 0) {
            var e = region(dst, bytes, "upload");
            MemorySegment from = src.byteSize() >= bytes ? src : MemorySegment.ofAddress(src.address()).reinterpret(bytes);
            MemorySegment.copy(from, 0, MemorySegment.ofArray(e.getValue()), dst - e.getKey(), bytes);
        }
    }

    @Override
    public void download(MemorySegment dst, long src, long bytes) {
        record("download " + bytes);
        if (bytes > 0) {
            var e = region(src, bytes, "download");
            MemorySegment.copy(MemorySegment.ofArray(e.getValue()), src - e.getKey(), dst, 0, bytes);
        }
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        record("copy " + bytes);
        if (bytes > 0) {
            var d = region(dst, bytes, "copy destination");
            var s = region(src, bytes, "copy source");
            System.arraycopy(s.getValue(), (int) (src - s.getKey()), d.getValue(), (int) (dst - d.getKey()),
                    (int) bytes);
        }
    }

    @Override
    public void sync() {
        // nothing is asynchronous here
    }

    @Override
    public void launch(Kernel k, int gx, int gy, int gz, int block, int sharedBytes, Object... args) {
        k.check(args);
        if (gx < 1 || gy < 1 || gz < 1 || gy > 65535 || gz > 65535) {
            throw new AssertionError(k.name() + ": bad grid " + gx + "x" + gy + "x" + gz);
        }
        if (block < 32 || block > 1024 || block % 32 != 0 || sharedBytes < 0 || sharedBytes > 48 * 1024) {
            throw new AssertionError(k.name() + ": bad block " + block + " / shared " + sharedBytes);
        }
        for (int i = 0; i < args.length; i++) {
            Kernel.Param p = k.params().get(i);
            if (p == Kernel.Param.PTR && (Long) args[i] != 0) {
                region((Long) args[i], 1, k.name() + " argument " + i);
            } else if (p == Kernel.Param.ATTN) {
                AttentionParams ap = AttentionParams.unpack((byte[]) args[i]);
                region(ap.q(), 4, k.name() + " q");
                region(ap.k(), 1, k.name() + " k");
                region(ap.v(), 1, k.name() + " v");
                region(ap.out(), 4, k.name() + " out");
            }
        }
        launches.computeIfAbsent(k.name(), n -> new AtomicInteger()).incrementAndGet();
        record("launch " + k.name() + " " + gx + "x" + gy + "x" + gz + "/" + block
                + (sharedBytes == 0 ? "" : " shared " + sharedBytes));
    }

    @Override
    public void gemm(long w, long x, long y, int rows, int in, int out, DeviceType abType, float beta) {
        region(w, (long) out * in * abType.bytes(), "gemm W");
        region(x, (long) rows * in * abType.bytes(), "gemm x");
        region(y, (long) rows * out * 4, "gemm y");
        gemms.incrementAndGet();
        record("gemm " + rows + "x" + in + "->" + out + " " + abType);
    }

    @Override
    public synchronized void close() {
        closed = true;
    }
}
