package io.cogvideo.backend.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * {@link Backend} on an NVIDIA GPU. Storage: weights of rank 2 (linear layers, embedding tables) in
 * {@link BackendOptions#weightDtype()} (default FLOAT16; FLOAT32 for the fp32 parity mode), rank-1 weights (norms,
 * biases, mix logits) in FLOAT32; activations FLOAT32; key/value caches ({@link #zeros}) in the weight type
 * (FLOAT32 in parity mode). GEMMs: cuBLAS {@code cublasGemmEx} with fp32 accumulation: fp32 x fp32 in parity mode,
 * otherwise the activation is rounded to the weight type first (cuBLAS has no mixed fp16 x fp32 GEMM) and the
 * product is written in fp32. Everything else runs in the project's kernels ({@code src/main/cuda}).
 *
 * <p>All work is queued on one stream; only {@link #toFloats} (and {@link #clusterMass}) wait for the device.
 * Thread-safe in the sense of the SPI: concurrent calls on distinct tensors are fine.
 */
final class CudaBackend implements Backend {
    /** Host bytes per upload chunk (also the conversion scratch size). */
    static final long UPLOAD_CHUNK = 64L << 20;
    /** Largest cluster count of {@link #clusterMass} (the per-row sums live in 48 KB of shared memory). */
    static final int MAX_CLUSTERS = 12 * 1024;

    final Device device;
    final DeviceType weightType;
    final DeviceType cacheType;
    private final Map<int[], CudaTensor> clusterTables = new WeakHashMap<>();

    CudaBackend(Device device, BackendOptions options) {
        this.device = device;
        DType w = options.weightDtype() == null ? DType.FLOAT16 : options.weightDtype();
        this.weightType = DeviceType.of(w);
        this.cacheType = weightType;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return "cuda (" + device.describe() + "; weights " + weightType.dtype + ", activations FLOAT32, KV cache "
                + cacheType.dtype + ")";
    }

    // ------------------------------------------------------------------------------------------------ helpers

    CudaTensor t(Tensor x) {
        if (x instanceof CudaTensor c && c.owner == this) {
            if (c.isClosed()) {
                throw new CogVideoException("tensor " + c + " is closed");
            }
            return c;
        }
        throw new CogVideoException("tensor " + x + " does not belong to this cuda backend");
    }

    CudaTensor allocate(int[] shape, DeviceType type, boolean immutable) {
        long n = TensorData.numel(shape);
        long bytes = n * type.bytes();
        long ptr = device.alloc(bytes);
        return new CudaTensor(this, shape.clone(), type, new CudaTensor.Buffer(device, ptr, bytes), 0, immutable);
    }

    /** {@code x} itself if float32, else a float32 copy (the caller closes it when {@code != x}). */
    private CudaTensor f32(CudaTensor x) {
        if (x.type == DeviceType.F32) {
            return x;
        }
        CudaTensor out = allocate(x.shape, DeviceType.F32, false);
        convert(x.ptr(), x.type, out.ptr(), DeviceType.F32, x.numel);
        return out;
    }

    private static void closeTemp(CudaTensor temp, CudaTensor original) {
        if (temp != original) {
            temp.close();
        }
    }

    private void convert(long src, DeviceType from, long dst, DeviceType to, long n) {
        if (n > 0) {
            device.launch(Kernel.CONVERT, blocks(n), 1, 1, LaunchGeometry.THREADS, 0, src, from.code(), dst, to.code(),
                    n);
        }
    }

    private int blocks(long n) {
        return LaunchGeometry.elementwiseBlocks(n, device.multiprocessors());
    }

    private static int lastDim(CudaTensor x) {
        if (x.rank() == 0) {
            throw new CogVideoException("scalar tensors are not supported");
        }
        return x.shape[x.rank() - 1];
    }

    private static int axis(int axis, int rank) {
        int ax = axis < 0 ? rank + axis : axis;
        if (ax < 0 || ax >= rank) {
            throw new CogVideoException("axis " + axis + " outside a tensor of rank " + rank);
        }
        return ax;
    }

    private static long prod(int[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return p;
    }

    // ------------------------------------------------------------------------------------------------ tensors

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        if (TensorData.numel(shape) != values.length) {
            throw new CogVideoException("shape " + Arrays.toString(shape) + " needs " + TensorData.numel(shape)
                    + " values, got " + values.length);
        }
        CudaTensor out = allocate(shape, DeviceType.F32, false);
        if (values.length > 0) {
            try (Arena a = Arena.ofConfined()) {
                device.upload(out.ptr(), a.allocateFrom(JAVA_FLOAT, values), 4L * values.length);
            }
        }
        return out;
    }

    /**
     * Uploads a weight straight from its (usually memory-mapped) bytes: same-type data goes to the device as is, in
     * chunks, with no host copy for direct buffers; other types are converted on the device chunk by chunk (float64
     * is first narrowed to float32 on the host, one chunk at a time).
     */
    @Override
    public Tensor upload(TensorData data) {
        DType src = data.dtype();
        if (!src.isFloatingPoint()) {
            throw new CogVideoException("tensor '" + data.name() + "' has dtype " + src
                    + "; the cuda backend uploads floating-point weights only");
        }
        int[] shape = data.shape();
        DeviceType target = shape.length >= 2 ? weightType : DeviceType.F32;
        CudaTensor out = allocate(shape, target, true);
        long n = data.numel();
        if (n == 0) {
            return out;
        }
        ByteBuffer bytes = data.data();
        if (src == DType.FLOAT64) {
            uploadFloat64(data, out);
            return out;
        }
        DeviceType from = DeviceType.of(src);
        if (from == target) {
            copyToDevice(out.ptr(), bytes, 0, bytes.remaining());
            return out;
        }
        long perChunk = UPLOAD_CHUNK / from.bytes();
        long scratchBytes = Math.min(n, perChunk) * from.bytes();
        long scratch = device.alloc(scratchBytes);
        try {
            for (long e = 0; e < n; e += perChunk) {
                long count = Math.min(perChunk, n - e);
                copyToDevice(scratch, bytes, e * from.bytes(), count * from.bytes());
                convert(scratch, from, out.ptr() + e * target.bytes(), target, count);
            }
        } finally {
            device.free(scratch, scratchBytes); // stream-ordered: after the last conversion
        }
        return out;
    }

    private void uploadFloat64(TensorData data, CudaTensor out) {
        long n = data.numel();
        int perChunk = (int) (UPLOAD_CHUNK / 8);
        float[] chunk = new float[(int) Math.min(n, perChunk)];
        long scratchBytes = 4L * chunk.length;
        long scratch = out.type == DeviceType.F32 ? 0 : device.alloc(scratchBytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment staging = a.allocate(scratchBytes, 8);
            for (long e = 0; e < n; e += perChunk) {
                int count = (int) Math.min(perChunk, n - e);
                data.copyToFloats(e, chunk, 0, count);
                MemorySegment.copy(chunk, 0, staging, JAVA_FLOAT, 0, count);
                if (scratch == 0) {
                    device.upload(out.ptr() + 4 * e, staging, 4L * count);
                } else {
                    device.upload(scratch, staging, 4L * count);
                    convert(scratch, DeviceType.F32, out.ptr() + e * out.type.bytes(), out.type, count);
                }
            }
        } finally {
            device.free(scratch, scratchBytes);
        }
    }

    /** Copies {@code len} bytes of {@code src} from byte {@code from} to device address {@code dst}, in chunks. */
    private void copyToDevice(long dst, ByteBuffer src, long from, long len) {
        if (src.isDirect()) {
            // the driver reads the (mapped) pages itself: no host copy
            long base = MemorySegment.ofBuffer(src).address();
            for (long off = 0; off < len; off += UPLOAD_CHUNK) {
                long l = Math.min(UPLOAD_CHUNK, len - off);
                device.upload(dst + off, MemorySegment.ofAddress(base + from + off), l);
            }
            Reference.reachabilityFence(src);
            return;
        }
        MemorySegment heap = MemorySegment.ofBuffer(src);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment staging = a.allocate(Math.min(len, UPLOAD_CHUNK), 16);
            for (long off = 0; off < len; off += UPLOAD_CHUNK) {
                long l = Math.min(UPLOAD_CHUNK, len - off);
                MemorySegment.copy(heap, from + off, staging, 0, l);
                device.upload(dst + off, staging, l);
            }
        }
    }

    /** Zero-filled; in the cache type (the SPI uses zeros for the preallocated key/value caches). */
    @Override
    public Tensor zeros(int... shape) {
        CudaTensor out = allocate(shape, cacheType, false);
        device.memsetZero(out.ptr(), out.bytes());
        return out;
    }

    @Override
    public float[] toFloats(Tensor x) {
        CudaTensor c = t(x);
        if (c.numel > Integer.MAX_VALUE - 8) {
            throw new CogVideoException("tensor " + c + " has " + c.numel + " elements, too many for one float[]");
        }
        CudaTensor f = f32(c);
        try (Arena a = Arena.ofConfined()) {
            long bytes = 4 * f.numel;
            MemorySegment host = a.allocate(Math.max(4, bytes), 16);
            device.download(host, f.ptr(), bytes);
            return host.asSlice(0, bytes).toArray(JAVA_FLOAT);
        } finally {
            closeTemp(f, c);
            Reference.reachabilityFence(c);
        }
    }

    // ------------------------------------------------------------------------------------------------ operations

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        CudaTensor tab = t(table);
        if (tab.rank() != 2) {
            throw new CogVideoException("gatherRows: table must be [V, h], got " + Arrays.toString(tab.shape));
        }
        int vocab = tab.shape[0];
        int h = tab.shape[1];
        if (batch < 1 || rows.length % batch != 0) {
            throw new CogVideoException("gatherRows: " + rows.length + " rows do not split into batch " + batch);
        }
        for (int r : rows) {
            if (r < 0 || r >= vocab) {
                throw new CogVideoException("row " + r + " outside [0, " + vocab + ")");
            }
        }
        CudaTensor out = allocate(new int[] {batch, rows.length / batch, h}, DeviceType.F32, false);
        if (rows.length == 0 || h == 0) {
            return out;
        }
        long idxBytes = 4L * rows.length;
        long idx = device.alloc(idxBytes);
        try (Arena a = Arena.ofConfined()) {
            device.upload(idx, a.allocateFrom(JAVA_INT, rows), idxBytes);
        }
        device.launch(Kernel.GATHER_ROWS, LaunchGeometry.rowBlocks(rows.length, device.multiprocessors()), 1, 1,
                LaunchGeometry.THREADS, 0, tab.ptr(), tab.type.code(), idx, out.ptr(), rows.length, h);
        device.free(idx, idxBytes);
        Reference.reachabilityFence(tab);
        return out;
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        CudaTensor xc = t(x);
        CudaTensor w = t(weight);
        int in = lastDim(xc);
        if (w.rank() != 2 || w.shape[1] != in) {
            throw new CogVideoException("linear: input width " + in + " does not match weight "
                    + Arrays.toString(w.shape));
        }
        int out = w.shape[0];
        long rowsL = xc.numel / Math.max(1, in);
        if (rowsL > Integer.MAX_VALUE) {
            throw new CogVideoException("linear: " + rowsL + " rows exceed cuBLAS's int range");
        }
        int rows = (int) rowsL;
        int[] shape = xc.shape.clone();
        shape[shape.length - 1] = out;
        CudaTensor y = allocate(shape, DeviceType.F32, false);
        if (rows == 0 || out == 0) {
            return y;
        }
        CudaTensor a = f32(xc);
        if (w.type == DeviceType.F32) {
            device.gemm(w.ptr(), a.ptr(), y.ptr(), rows, in, out, DeviceType.F32, 0f);
        } else {
            long n = (long) rows * in;
            long bytes = n * w.type.bytes();
            long xh = device.alloc(bytes);
            convert(a.ptr(), DeviceType.F32, xh, w.type, n);
            device.gemm(w.ptr(), xh, y.ptr(), rows, in, out, w.type, 0f);
            device.free(xh, bytes);
        }
        closeTemp(a, xc);
        if (bias != null) {
            CudaTensor b0 = t(bias);
            if (b0.numel != out) {
                throw new CogVideoException("linear: bias " + Arrays.toString(b0.shape) + " does not match " + out
                        + " outputs");
            }
            CudaTensor b = f32(b0);
            long n = (long) rows * out;
            device.launch(Kernel.BIAS_ADD, blocks(n), 1, 1, LaunchGeometry.THREADS, 0, y.ptr(), b.ptr(), n, out);
            closeTemp(b, b0);
            Reference.reachabilityFence(b0);
        }
        Reference.reachabilityFence(xc);
        Reference.reachabilityFence(w);
        return y;
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        CudaTensor xc = t(x);
        int h = lastDim(xc);
        CudaTensor g0 = t(gamma);
        CudaTensor b0 = t(beta);
        if (g0.numel != h || b0.numel != h) {
            throw new CogVideoException("layerNorm: gamma " + Arrays.toString(g0.shape) + " / beta "
                    + Arrays.toString(b0.shape) + " do not match width " + h);
        }
        CudaTensor y = allocate(xc.shape, DeviceType.F32, false);
        long rows = xc.numel / Math.max(1, h);
        if (rows == 0 || h == 0) {
            return y;
        }
        CudaTensor a = f32(xc);
        CudaTensor g = f32(g0);
        CudaTensor b = f32(b0);
        device.launch(Kernel.LAYERNORM, LaunchGeometry.rowBlocks(rows, device.multiprocessors()), 1, 1,
                LaunchGeometry.THREADS, 0, a.ptr(), g.ptr(), b.ptr(), y.ptr(), (int) rows, h, eps);
        closeTemp(a, xc);
        closeTemp(g, g0);
        closeTemp(b, b0);
        Reference.reachabilityFence(xc);
        Reference.reachabilityFence(g0);
        Reference.reachabilityFence(b0);
        return y;
    }

    @Override
    public Tensor gelu(Tensor x) {
        CudaTensor xc = t(x);
        CudaTensor y = allocate(xc.shape, DeviceType.F32, false);
        if (xc.numel > 0) {
            CudaTensor a = f32(xc);
            device.launch(Kernel.GELU, blocks(a.numel), 1, 1, LaunchGeometry.THREADS, 0, a.ptr(), y.ptr(), a.numel);
            closeTemp(a, xc);
        }
        Reference.reachabilityFence(xc);
        return y;
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        CudaTensor x0 = t(a);
        CudaTensor y0 = t(b);
        if (y0.numel == 0 || x0.numel % y0.numel != 0 || (x0.numel != y0.numel && y0.shape[0] != 1)) {
            throw new CogVideoException("add: shapes " + Arrays.toString(x0.shape) + " and "
                    + Arrays.toString(y0.shape) + " do not broadcast");
        }
        CudaTensor out = allocate(x0.shape, DeviceType.F32, false);
        CudaTensor x = f32(x0);
        CudaTensor y = f32(y0);
        device.launch(Kernel.ADD, blocks(x.numel), 1, 1, LaunchGeometry.THREADS, 0, x.ptr(), y.ptr(), out.ptr(), x.numel,
                y.numel);
        closeTemp(x, x0);
        closeTemp(y, y0);
        Reference.reachabilityFence(x0);
        Reference.reachabilityFence(y0);
        return out;
    }

    @Override
    public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
        CudaTensor b0 = t(base);
        CudaTensor p0 = t(plus);
        CudaTensor l0 = t(mixLogits);
        int h = (int) l0.numel;
        if (b0.numel != p0.numel || h == 0 || b0.numel % h != 0 || lastDim(b0) != h) {
            throw new CogVideoException("channelMix: base " + Arrays.toString(b0.shape) + ", plus "
                    + Arrays.toString(p0.shape) + ", logits " + Arrays.toString(l0.shape) + " do not fit");
        }
        CudaTensor out = allocate(b0.shape, DeviceType.F32, false);
        CudaTensor b = f32(b0);
        CudaTensor p = f32(p0);
        CudaTensor l = f32(l0);
        device.launch(Kernel.CHANNEL_MIX, blocks(b.numel), 1, 1, LaunchGeometry.THREADS, 0, b.ptr(), p.ptr(), l.ptr(),
                out.ptr(), b.numel, h);
        closeTemp(b, b0);
        closeTemp(p, p0);
        closeTemp(l, l0);
        Reference.reachabilityFence(b0);
        Reference.reachabilityFence(p0);
        Reference.reachabilityFence(l0);
        return out;
    }

    private void copyAxis(CudaTensor src, CudaTensor dst, long outer, int srcAxis, int srcStart, int dstAxis,
            int dstStart, int len, long inner) {
        long n = outer * len * inner;
        if (n > 0) {
            device.launch(Kernel.COPY_AXIS, blocks(n), 1, 1, LaunchGeometry.THREADS, 0, src.ptr(), src.type.code(),
                    dst.ptr(), dst.type.code(), outer, srcAxis, srcStart, dstAxis, dstStart, len, inner);
        }
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        CudaTensor a = t(x);
        int ax = axis(axis, a.rank());
        int[] shape = a.shape.clone();
        if (start < 0 || length < 0 || (long) start + length > shape[ax]) {
            throw new CogVideoException("slice [" + start + ", " + ((long) start + length) + ") outside axis " + ax
                    + " of " + Arrays.toString(shape));
        }
        long outer = prod(shape, 0, ax);
        long inner = prod(shape, ax + 1, shape.length);
        int axisLen = shape[ax];
        shape[ax] = length;
        if (a.immutable && outer == 1) {
            // a contiguous row range of a weight (e.g. the output head of the word embeddings): share the memory
            return CudaTensor.view(a, shape, (long) start * inner * a.type.bytes());
        }
        CudaTensor out = allocate(shape, a.type, false);
        copyAxis(a, out, outer, axisLen, start, length, 0, length, inner);
        Reference.reachabilityFence(a);
        return out;
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        if (parts.length == 0) {
            throw new CogVideoException("concat of nothing");
        }
        CudaTensor first = t(parts[0]);
        int ax = axis(axis, first.rank());
        int[] shape = first.shape.clone();
        DeviceType type = first.type;
        long total = 0;
        for (Tensor p : parts) {
            CudaTensor c = t(p);
            if (c.rank() != shape.length) {
                throw new CogVideoException("concat: ranks differ: " + Arrays.toString(first.shape) + " and "
                        + Arrays.toString(c.shape));
            }
            for (int i = 0; i < shape.length; i++) {
                if (i != ax && c.shape[i] != shape[i]) {
                    throw new CogVideoException("concat along " + ax + ": shapes " + Arrays.toString(first.shape)
                            + " and " + Arrays.toString(c.shape) + " differ off the axis");
                }
            }
            if (c.type != type) {
                type = DeviceType.F32;
            }
            total += c.shape[ax];
        }
        if (total > Integer.MAX_VALUE) {
            throw new CogVideoException("concat: axis length " + total + " too large");
        }
        shape[ax] = (int) total;
        CudaTensor out = allocate(shape, type, false);
        long outer = prod(shape, 0, ax);
        long inner = prod(shape, ax + 1, shape.length);
        int off = 0;
        for (Tensor p : parts) {
            CudaTensor c = t(p);
            int len = c.shape[ax];
            copyAxis(c, out, outer, len, 0, (int) total, off, len, inner);
            off += len;
        }
        Reference.reachabilityFence(parts);
        return out;
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        CudaTensor d = t(dst);
        CudaTensor s = t(src);
        if (d.immutable) {
            throw new CogVideoException("write: " + d + " is a weight (read-only)");
        }
        int ax = axis(axis, d.rank());
        if (s.rank() != d.rank()) {
            throw new CogVideoException("write: ranks differ: " + Arrays.toString(d.shape) + " and "
                    + Arrays.toString(s.shape));
        }
        for (int i = 0; i < d.rank(); i++) {
            if (i != ax && d.shape[i] != s.shape[i]) {
                throw new CogVideoException("write along " + ax + ": " + Arrays.toString(s.shape) + " does not fit "
                        + Arrays.toString(d.shape));
            }
        }
        int len = s.shape[ax];
        if (offset < 0 || (long) offset + len > d.shape[ax]) {
            throw new CogVideoException("write: rows [" + offset + ", " + ((long) offset + len) + ") outside [0, "
                    + d.shape[ax] + ")");
        }
        copyAxis(s, d, prod(d.shape, 0, ax), len, 0, d.shape[ax], offset, len, prod(d.shape, ax + 1, d.rank()));
        Reference.reachabilityFence(d);
        Reference.reachabilityFence(s);
    }

    @Override
    public Tensor attention(Tensor qt, Tensor kt, Tensor vt, int keyLength, AttentionMask mask) {
        CudaTensor q0 = t(qt);
        CudaTensor k0 = t(kt);
        CudaTensor v0 = t(vt);
        if (q0.rank() != 3 || k0.rank() != 3 || v0.rank() != 3) {
            throw new CogVideoException("attention: q, k, v must be [B, rows, heads*d]");
        }
        int batch = q0.shape[0];
        int nq = q0.shape[1];
        int width = q0.shape[2];
        int heads = mask.heads();
        if (k0.shape[2] != width || v0.shape[2] != width || !Arrays.equals(k0.shape, v0.shape)
                || keyLength < 0 || keyLength > k0.shape[1] || k0.shape[0] != batch || width % heads != 0) {
            throw new CogVideoException("attention: q " + Arrays.toString(q0.shape) + ", k "
                    + Arrays.toString(k0.shape) + ", v " + Arrays.toString(v0.shape) + ", keyLength " + keyLength
                    + ", heads " + heads + " do not fit");
        }
        CudaTensor out = allocate(q0.shape, DeviceType.F32, false);
        if (batch == 0 || nq == 0 || width == 0) {
            return out;
        }
        int d = width / heads;
        CudaTensor q = f32(q0);
        CudaTensor k = k0;
        CudaTensor v = v0;
        if (k0.type != v0.type) {
            k = f32(k0);
            v = f32(v0);
        }
        LaunchGeometry.AttentionPlan plan = LaunchGeometry.attention(batch, nq, heads, d, keyLength,
                device.multiprocessors());
        long wsBytes = 4 * plan.workspaceFloats();
        long ws = plan.splits() > 1 ? device.alloc(wsBytes) : 0;
        long kRows = k.shape[1];
        byte[] params = new AttentionParams(q.ptr(), k.ptr(), v.ptr(), ws != 0 ? ws : out.ptr(), (long) nq * width,
                kRows * width, (long) nq * width, width, width, width, nq, keyLength, d, plan.splits(),
                (float) (1.0 / Math.sqrt(d)), mask).pack();
        device.launch(Kernel.attention(plan.decode(), k.type, plan.bucket()), plan.gridX(), plan.gridY(), plan.gridZ(),
                plan.blockThreads(), 0, params);
        if (ws != 0) {
            device.launch(Kernel.ATTN_COMBINE, heads, batch * nq, 1, 64, 0, ws, out.ptr(), nq, heads, d, plan.splits(),
                    (long) nq * width, width);
            device.free(ws, wsBytes);
        }
        closeTemp(q, q0);
        closeTemp(k, k0);
        closeTemp(v, v0);
        Reference.reachabilityFence(q0);
        Reference.reachabilityFence(k0);
        Reference.reachabilityFence(v0);
        return out;
    }

    // ------------------------------------------------------------------------------------------------ extras

    /**
     * Cluster masses for the cluster-restricted sampler: for each row of {@code logits} ({@code [..., vocab]}),
     * {@code P_c = Σ_{t in c} softmax(logits / temperature)_t}, computed on the device so that only
     * {@code rows x clusters} floats come back instead of {@code rows x vocab}. Not called by the sampler yet
     * (the SPI has no such operation).
     *
     * @param clusterOf   cluster id of every token ({@code length == vocab}); uploaded once per array instance
     * @param temperature {@code > 0}
     * @return [rows * clusters], row-major
     */
    float[] clusterMass(Tensor logits, int[] clusterOf, float temperature) {
        CudaTensor l0 = t(logits);
        int vocab = lastDim(l0);
        if (clusterOf.length != vocab) {
            throw new CogVideoException("clusterMass: cluster table has " + clusterOf.length + " entries for a "
                    + "vocabulary of " + vocab);
        }
        if (!(temperature > 0) || !Float.isFinite(temperature)) {
            throw new CogVideoException("clusterMass: temperature must be > 0, got " + temperature);
        }
        int clusters = 0;
        for (int i = 0; i < clusterOf.length; i++) {
            if (clusterOf[i] < 0) {
                throw new CogVideoException("clusterMass: token " + i + " has negative cluster " + clusterOf[i]);
            }
            clusters = Math.max(clusters, clusterOf[i] + 1);
        }
        if (clusters > MAX_CLUSTERS) {
            throw new CogVideoException("clusterMass: " + clusters + " clusters exceed " + MAX_CLUSTERS);
        }
        long rows = l0.numel / Math.max(1, vocab);
        if (rows * clusters > Integer.MAX_VALUE - 8) {
            throw new CogVideoException("clusterMass: result too large");
        }
        CudaTensor table = clusterTable(clusterOf);
        CudaTensor l = f32(l0);
        long outBytes = 4L * rows * clusters;
        long mass = device.alloc(outBytes);
        try (Arena a = Arena.ofConfined()) {
            if (rows > 0) {
                device.launch(Kernel.CLUSTER_MASS, LaunchGeometry.rowBlocks(rows, device.multiprocessors()), 1, 1,
                        LaunchGeometry.THREADS, 4 * clusters, l.ptr(), (long) vocab, table.ptr(), mass, (int) rows,
                        vocab, clusters, 1f / temperature);
            }
            MemorySegment host = a.allocate(Math.max(4, outBytes), 16);
            device.download(host, mass, outBytes);
            return host.asSlice(0, outBytes).toArray(JAVA_FLOAT);
        } finally {
            device.free(mass, outBytes);
            closeTemp(l, l0);
            Reference.reachabilityFence(l0);
            Reference.reachabilityFence(table);
        }
    }

    private CudaTensor clusterTable(int[] clusterOf) {
        synchronized (clusterTables) {
            CudaTensor t = clusterTables.get(clusterOf);
            if (t == null || t.isClosed()) {
                t = allocate(new int[] {clusterOf.length}, DeviceType.F32, true); // 4-byte ints, typed as 4-byte storage
                try (Arena a = Arena.ofConfined()) {
                    device.upload(t.ptr(), a.allocateFrom(JAVA_INT, clusterOf), 4L * clusterOf.length);
                }
                clusterTables.put(clusterOf, t);
            }
            return t;
        }
    }

    /** A tensor of uniform values in {@code [lo, hi)} made on the device (benchmarks, device tests). */
    CudaTensor uniform(int[] shape, DeviceType type, float lo, float hi, long seed, boolean immutable) {
        CudaTensor out = allocate(shape, type, immutable);
        if (out.numel > 0) {
            device.launch(Kernel.FILL_UNIFORM, blocks(out.numel), 1, 1, LaunchGeometry.THREADS, 0, out.ptr(),
                    type.code(), out.numel, seed, lo, hi);
        }
        return out;
    }

    @Override
    public void close() {
        synchronized (clusterTables) {
            clusterTables.values().forEach(CudaTensor::close);
            clusterTables.clear();
        }
        device.close();
    }
}
