package io.cogvideo.backend.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.WeightUse;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * The primitive {@link Backend} on an NVIDIA GPU, with the {@link FusedAttention} op pack (attention and the channel
 * mix); it has neither {@link io.cogvideo.spi.LocalAttention} nor {@link io.cogvideo.spi.VqVaeOps}, so
 * {@link #find} is empty for those and a model that needs them fails before any work with {@code OpPacks}' message.
 *
 * <p>Storage: weights of rank 2 (linear layers, embedding tables, the tied output head) in
 * {@link BackendOptions#weightDtype()} (default FLOAT16; FLOAT32 for the fp32 parity mode), rank-1 weights (norms,
 * biases, mix logits) in FLOAT32; activations FLOAT32; key/value caches ({@link #cache}) in the type the caller asks
 * for, FLOAT32, FLOAT16 or BFLOAT16 (the K/V types the attention kernels read). GEMMs: cuBLAS {@code cublasGemmEx}
 * with fp32 accumulation: fp32 x fp32 in parity mode, otherwise the activation is rounded to the weight type first
 * (cuBLAS has no mixed fp16 x fp32 GEMM) and the product is written in fp32. Everything else runs in the project's
 * kernels ({@code src/main/cuda}).
 *
 * <p><b>No argument checks.</b> Callers reach this class through {@link CheckedBackend}, which validates rank,
 * shapes, dtypes, owner and closed state of every argument first; the methods here assume well-formed inputs and
 * only cast. What remains are device-level limits that are not argument validation: the head widths the kernels
 * are compiled for and CUDA's grid limits ({@link LaunchGeometry}), the kernel ABI ({@link Kernel#check}), and
 * refusing a cache dtype the kernels cannot read.
 *
 * <p>All work is queued on one stream; only {@link #toFloats} waits for the device. Thread-safe in the sense of the
 * SPI: concurrent calls on distinct tensors are fine.
 */
final class CudaBackend implements Backend {
    /** Host bytes per upload chunk (also the conversion scratch size). */
    static final long UPLOAD_CHUNK = 64L << 20;

    final Device device;
    final DeviceType weightType;
    private final Attention attention = new Attention();

    CudaBackend(Device device, BackendOptions options) {
        this.device = device;
        DType w = options.weightDtype() == null ? DType.FLOAT16 : options.weightDtype();
        this.weightType = DeviceType.of(w);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return "cuda (" + device.describe() + "; weights " + weightType.dtype
                + ", activations FLOAT32, KV caches FLOAT32/FLOAT16/BFLOAT16 as requested; op packs: FusedAttention)";
    }

    /** {@link FusedAttention}; no other pack. */
    @Override
    public <P extends OpPack> Optional<P> find(Class<P> pack) {
        return pack == FusedAttention.class ? Optional.of(pack.cast(attention)) : Optional.empty();
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** The raw tensor behind an argument: {@link CheckedBackend} has already checked owner and state. */
    private static CudaTensor t(Tensor x) {
        return (CudaTensor) x;
    }

    /** A new uninitialised tensor. */
    CudaTensor allocate(int[] shape, DeviceType type) {
        return new CudaTensor(device, shape.clone(), type, device.alloc(TensorData.numel(shape) * type.bytes()));
    }

    /** {@code x} itself if float32, else a float32 copy (the caller closes it when {@code != x}). */
    private CudaTensor f32(CudaTensor x) {
        if (x.type == DeviceType.F32) {
            return x;
        }
        CudaTensor out = allocate(x.shape, DeviceType.F32);
        convert(x.ptr(), x.type, out.ptr(), DeviceType.F32, x.numel);
        return out;
    }

    private static void closeTemp(CudaTensor temp, CudaTensor original) {
        if (temp != original) {
            temp.close();
        }
    }

    private void convert(long src, DeviceType from, long dst, DeviceType to, long n) {
        device.launch(Kernel.CONVERT, blocks(n), 1, 1, LaunchGeometry.THREADS, 0, src, from.code(), dst, to.code(), n);
    }

    private int blocks(long n) {
        return LaunchGeometry.elementwiseBlocks(n, device.multiprocessors());
    }

    private static int lastDim(CudaTensor x) {
        return x.shape[x.rank() - 1];
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
        CudaTensor out = allocate(shape, DeviceType.F32);
        try (Arena a = Arena.ofConfined()) {
            device.upload(out.ptr(), a.allocateFrom(JAVA_FLOAT, values), 4L * values.length);
        }
        return out;
    }

    /**
     * Uploads a weight straight from its (usually memory-mapped) bytes: same-type data goes to the device as is, in
     * chunks, with no host copy for direct buffers; other types are converted on the device chunk by chunk (float64
     * is first narrowed to float32 on the host, one chunk at a time). Rank-2 weights are kept in the weight type,
     * rank-1 weights in FLOAT32.
     *
     * @param use ignored: cuBLAS reads a row-major {@code [out, in]} weight as the transposed operand directly, so a
     *            linear weight needs no other layout than the checkpoint's
     */
    @Override
    public Tensor upload(TensorData data, WeightUse use) {
        DType src = data.dtype();
        int[] shape = data.shape();
        DeviceType target = shape.length >= 2 ? weightType : DeviceType.F32;
        CudaTensor out = allocate(shape, target);
        if (src == DType.FLOAT64) {
            uploadFloat64(data, out);
            return out;
        }
        ByteBuffer bytes = data.data();
        DeviceType from = DeviceType.of(src);
        if (from == target) {
            copyToDevice(out.ptr(), bytes, 0, bytes.remaining());
            return out;
        }
        long n = data.numel();
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

    /**
     * A zero-filled key/value cache in {@code dtype}: FLOAT32, FLOAT16 or BFLOAT16, the K/V element types the
     * attention kernels are compiled for ({@link #write} converts float32 rows into it).
     *
     * @throws CogVideoException for any other dtype, naming the supported ones
     */
    @Override
    public Tensor cache(DType dtype, int... shape) {
        DeviceType type = switch (dtype) {
            case FLOAT32 -> DeviceType.F32;
            case FLOAT16 -> DeviceType.F16;
            case BFLOAT16 -> DeviceType.BF16;
            default -> throw new CogVideoException("cache: the cuda backend holds key/value caches in FLOAT32, FLOAT16 "
                    + "or BFLOAT16 (the K/V types its attention kernels read), not " + dtype);
        };
        CudaTensor out = allocate(shape, type);
        device.memsetZero(out.ptr(), out.bytes());
        return out;
    }

    @Override
    public float[] toFloats(Tensor x) {
        CudaTensor c = t(x);
        CudaTensor f = f32(c);
        try (Arena a = Arena.ofConfined()) {
            long bytes = 4 * f.numel;
            MemorySegment host = a.allocate(bytes, 16);
            device.download(host, f.ptr(), bytes);
            return host.toArray(JAVA_FLOAT);
        } finally {
            closeTemp(f, c);
            Reference.reachabilityFence(c);
        }
    }

    // ------------------------------------------------------------------------------------------------ operations

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        CudaTensor tab = t(table);
        int h = tab.shape[1];
        CudaTensor out = allocate(new int[] {batch, rows.length / batch, h}, DeviceType.F32);
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
        int out = w.shape[0];
        int rows = (int) (xc.numel / in); // numel <= Integer.MAX_VALUE (CheckedBackend)
        int[] shape = xc.shape.clone();
        shape[shape.length - 1] = out;
        CudaTensor y = allocate(shape, DeviceType.F32);
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
        CudaTensor g0 = t(gamma);
        CudaTensor b0 = t(beta);
        int h = lastDim(xc);
        long rows = xc.numel / h;
        CudaTensor y = allocate(xc.shape, DeviceType.F32);
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
        CudaTensor y = allocate(xc.shape, DeviceType.F32);
        CudaTensor a = f32(xc);
        device.launch(Kernel.GELU, blocks(a.numel), 1, 1, LaunchGeometry.THREADS, 0, a.ptr(), y.ptr(), a.numel);
        closeTemp(a, xc);
        Reference.reachabilityFence(xc);
        return y;
    }

    /** {@code b} has {@code a}'s shape or batch 1: the kernel repeats its {@code b.numel} values over {@code a}. */
    @Override
    public Tensor add(Tensor a, Tensor b) {
        CudaTensor x0 = t(a);
        CudaTensor y0 = t(b);
        CudaTensor out = allocate(x0.shape, DeviceType.F32);
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

    private void copyAxis(CudaTensor src, CudaTensor dst, long outer, int srcAxis, int srcStart, int dstAxis,
            int dstStart, int len, long inner) {
        long n = outer * len * inner;
        device.launch(Kernel.COPY_AXIS, blocks(n), 1, 1, LaunchGeometry.THREADS, 0, src.ptr(), src.type.code(),
                dst.ptr(), dst.type.code(), outer, srcAxis, srcStart, dstAxis, dstStart, len, inner);
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        CudaTensor a = t(x);
        int[] shape = a.shape.clone();
        long outer = prod(shape, 0, axis);
        long inner = prod(shape, axis + 1, shape.length);
        int axisLen = shape[axis];
        shape[axis] = length;
        CudaTensor out = allocate(shape, a.type);
        copyAxis(a, out, outer, axisLen, start, length, 0, length, inner);
        Reference.reachabilityFence(a);
        return out;
    }

    /** In the parts' common type, or float32 if they differ. */
    @Override
    public Tensor concat(int axis, Tensor... parts) {
        CudaTensor first = t(parts[0]);
        int[] shape = first.shape.clone();
        DeviceType type = first.type;
        int total = 0;
        for (Tensor p : parts) {
            CudaTensor c = t(p);
            if (c.type != type) {
                type = DeviceType.F32;
            }
            total += c.shape[axis];
        }
        shape[axis] = total;
        CudaTensor out = allocate(shape, type);
        long outer = prod(shape, 0, axis);
        long inner = prod(shape, axis + 1, shape.length);
        int off = 0;
        for (Tensor p : parts) {
            CudaTensor c = t(p);
            int len = c.shape[axis];
            copyAxis(c, out, outer, len, 0, total, off, len, inner);
            off += len;
        }
        Reference.reachabilityFence(parts);
        return out;
    }

    /** Copies {@code src} into {@code dst}, converting to {@code dst}'s type (float32 rows into a half cache). */
    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        CudaTensor d = t(dst);
        CudaTensor s = t(src);
        int len = s.shape[axis];
        copyAxis(s, d, prod(d.shape, 0, axis), len, 0, d.shape[axis], offset, len, prod(d.shape, axis + 1, d.rank()));
        Reference.reachabilityFence(d);
        Reference.reachabilityFence(s);
    }

    @Override
    public void close() {
        device.close();
    }

    // ------------------------------------------------------------------------------------------------ op packs

    /** The {@link FusedAttention} pack on this backend's tensors. */
    private final class Attention implements FusedAttention {

        /**
         * The fused attention kernels: decode (few query rows, split-K over the keys) or prefill, chosen and sized
         * by {@link LaunchGeometry#attention}, which also enforces the kernels' head-width buckets and CUDA's grid
         * limits. K and V are read in their stored type; if the two types differ both are widened to float32.
         */
        @Override
        public Tensor attention(Tensor qt, Tensor kt, Tensor vt, int keyLength, AttentionMask mask) {
            CudaTensor q0 = t(qt);
            CudaTensor k0 = t(kt);
            CudaTensor v0 = t(vt);
            int batch = q0.shape[0];
            int nq = q0.shape[1];
            int width = q0.shape[2];
            int heads = mask.heads();
            int d = width / heads;
            LaunchGeometry.AttentionPlan plan = LaunchGeometry.attention(batch, nq, heads, d, keyLength,
                    device.multiprocessors());
            CudaTensor out = allocate(q0.shape, DeviceType.F32);
            CudaTensor q = f32(q0);
            CudaTensor k = k0;
            CudaTensor v = v0;
            if (k0.type != v0.type) {
                k = f32(k0);
                v = f32(v0);
            }
            long wsBytes = 4 * plan.workspaceFloats();
            long ws = plan.splits() > 1 ? device.alloc(wsBytes) : 0;
            long kRows = k.shape[1];
            byte[] params = new AttentionParams(q.ptr(), k.ptr(), v.ptr(), ws != 0 ? ws : out.ptr(), (long) nq * width,
                    kRows * width, (long) nq * width, width, width, width, nq, keyLength, d, plan.splits(),
                    (float) (1.0 / Math.sqrt(d)), mask).pack();
            device.launch(Kernel.attention(plan.decode(), k.type, plan.bucket()), plan.gridX(), plan.gridY(),
                    plan.gridZ(), plan.blockThreads(), 0, params);
            if (ws != 0) {
                device.launch(Kernel.ATTN_COMBINE, heads, batch * nq, 1, 64, 0, ws, out.ptr(), nq, heads, d,
                        plan.splits(), (long) nq * width, width);
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

        @Override
        public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
            CudaTensor b0 = t(base);
            CudaTensor p0 = t(plus);
            CudaTensor l0 = t(mixLogits);
            int h = (int) l0.numel;
            CudaTensor out = allocate(b0.shape, DeviceType.F32);
            CudaTensor b = f32(b0);
            CudaTensor p = f32(p0);
            CudaTensor l = f32(l0);
            device.launch(Kernel.CHANNEL_MIX, blocks(b.numel), 1, 1, LaunchGeometry.THREADS, 0, b.ptr(), p.ptr(),
                    l.ptr(), out.ptr(), b.numel, h);
            closeTemp(b, b0);
            closeTemp(p, p0);
            closeTemp(l, l0);
            Reference.reachabilityFence(b0);
            Reference.reachabilityFence(p0);
            Reference.reachabilityFence(l0);
            return out;
        }
    }
}
