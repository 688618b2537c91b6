package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel entry points of {@code src/main/cuda/cogvideo.cu} with their parameter lists: the Java side of the
 * kernel ABI. {@link CudaContext#launch} checks every argument against it, and a unit test checks it against the
 * {@code .entry} declarations of the built PTX, so a signature changed on one side only fails the build's tests
 * rather than corrupting a launch on a GPU.
 */
record Kernel(String name, List<Param> params) {

    /** Kernel parameter kinds, with the PTX declaration each compiles to. */
    enum Param {
        /** A device pointer ({@code .u64}); passed as {@code Long}. */
        PTR(".u64", 8),
        /** {@code long long} / {@code unsigned long long} ({@code .u64}); passed as {@code Long}. */
        I64(".u64", 8),
        /** {@code int} ({@code .u32}); passed as {@code Integer}. */
        I32(".u32", 4),
        /** {@code float} ({@code .f32}); passed as {@code Float}. */
        F32(".f32", 4),
        /** {@code CvAttnParams} by value ({@code .align 8 .b8 [144]}); passed as a 144-byte {@code MemorySegment}. */
        ATTN(".b8[144]", AttentionParams.SIZE);

        final String ptx;
        final int bytes;

        Param(String ptx, int bytes) {
            this.ptx = ptx;
            this.bytes = bytes;
        }
    }

    Kernel(String name, Param... params) {
        this(name, List.of(params));
    }

    static final Kernel CONVERT = new Kernel("cv_convert_k", Param.PTR, Param.I32, Param.PTR, Param.I32, Param.I64);
    static final Kernel GATHER_ROWS = new Kernel("cv_gather_rows_k", Param.PTR, Param.I32, Param.PTR, Param.PTR,
            Param.I32, Param.I32);
    static final Kernel LAYERNORM = new Kernel("cv_layernorm_k", Param.PTR, Param.PTR, Param.PTR, Param.PTR, Param.I32,
            Param.I32, Param.F32);
    static final Kernel GELU = new Kernel("cv_gelu_k", Param.PTR, Param.PTR, Param.I64);
    static final Kernel ADD = new Kernel("cv_add_k", Param.PTR, Param.PTR, Param.PTR, Param.I64, Param.I64);
    static final Kernel BIAS_ADD = new Kernel("cv_bias_add_k", Param.PTR, Param.PTR, Param.I64, Param.I32);
    static final Kernel CHANNEL_MIX = new Kernel("cv_channel_mix_k", Param.PTR, Param.PTR, Param.PTR, Param.PTR,
            Param.I64, Param.I32);
    static final Kernel COPY_AXIS = new Kernel("cv_copy_axis_k", Param.PTR, Param.I32, Param.PTR, Param.I32, Param.I64,
            Param.I32, Param.I32, Param.I32, Param.I32, Param.I32, Param.I64);
    static final Kernel ATTN_COMBINE = new Kernel("cv_attn_combine_k", Param.PTR, Param.PTR, Param.I32, Param.I32,
            Param.I32, Param.I32, Param.I64, Param.I32);

    /** Head-width buckets of the attention kernels: a head of width d runs in the smallest bucket {@code >= d}. */
    static final int[] HEAD_BUCKETS = {32, 64, 128};

    /** The attention kernel for a K/V element type and head-width bucket. */
    static Kernel attention(boolean decode, DeviceType kv, int bucket) {
        return new Kernel("cv_attn_" + (decode ? "decode_" : "prefill_") + kv.suffix() + "_d" + bucket, Param.ATTN);
    }

    /**
     * Checks launch arguments against the parameter list: {@code Long} for {@link Param#PTR} and {@link Param#I64},
     * {@code Integer} for {@link Param#I32}, {@code Float} for {@link Param#F32}, the 144 packed bytes for
     * {@link Param#ATTN}.
     */
    void check(Object... args) {
        if (args.length != params.size()) {
            throw new CogVideoException("kernel " + name + " takes " + params.size() + " arguments, got "
                    + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Param p = params.get(i);
            Object v = args[i];
            boolean ok = switch (p) {
                case PTR, I64 -> v instanceof Long;
                case I32 -> v instanceof Integer;
                case F32 -> v instanceof Float;
                case ATTN -> v instanceof byte[] b && b.length == AttentionParams.SIZE;
            };
            if (!ok) {
                throw new CogVideoException("kernel " + name + " argument " + i + " must be " + p + ", got "
                        + (v == null ? "null" : v.getClass().getSimpleName()));
            }
        }
    }

    /** Every entry point the PTX must contain. */
    static List<Kernel> all() {
        List<Kernel> all = new ArrayList<>(List.of(CONVERT, GATHER_ROWS, LAYERNORM, GELU, ADD, BIAS_ADD, CHANNEL_MIX,
                COPY_AXIS, ATTN_COMBINE));
        for (DeviceType t : DeviceType.values()) {
            for (int b : HEAD_BUCKETS) {
                all.add(attention(false, t, b));
                all.add(attention(true, t, b));
            }
        }
        return all;
    }
}
