// Kernel entry points of the CogVideo CUDA backend. Compiled by nvcc to PTX (sm_80 and sm_90) at build time and
// loaded with cuModuleLoadDataEx by io.cogvideo.backend.cuda.CudaContext. Every entry is extern "C" (unmangled);
// the parameter lists are mirrored by io.cogvideo.backend.cuda.Kernel, and a unit test checks both against the PTX.
#include "cv_attention.cuh"
#include "cv_elementwise.cuh"

// ------------------------------------------------------------------------------------------------ attention

#define CV_ATTN_ENTRIES(SUFFIX, KV, D, RQ)                                                              \
    extern "C" __global__ void __launch_bounds__(CV_ATTN_WARPS * 32)                                     \
        cv_attn_prefill_##SUFFIX##_d##D(const CvAttnParams p) {                                          \
        cv_attn_prefill<D, RQ, KV>(p);                                                                   \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(CV_ATTN_WARPS * 32)                                     \
        cv_attn_decode_##SUFFIX##_d##D(const CvAttnParams p) {                                           \
        cv_attn_decode<D, KV>(p);                                                                        \
    }

CV_ATTN_ENTRIES(f32, float, 32, 8)
CV_ATTN_ENTRIES(f32, float, 64, 8)
CV_ATTN_ENTRIES(f32, float, 128, 4)
CV_ATTN_ENTRIES(f16, __half, 32, 8)
CV_ATTN_ENTRIES(f16, __half, 64, 8)
CV_ATTN_ENTRIES(f16, __half, 128, 4)
CV_ATTN_ENTRIES(bf16, __nv_bfloat16, 32, 8)
CV_ATTN_ENTRIES(bf16, __nv_bfloat16, 64, 8)
CV_ATTN_ENTRIES(bf16, __nv_bfloat16, 128, 4)

extern "C" __global__ void cv_attn_combine_k(const float* ws, float* out, int nq, int heads, int d, int splits,
                                             long long oBatch, int oRow) {
    cv_attn_combine(ws, out, nq, heads, d, splits, oBatch, oRow);
}

// ------------------------------------------------------------------------------------------------ element-wise

extern "C" __global__ void cv_convert_k(const void* src, int srcType, void* dst, int dstType, long long n) {
    cv_convert(src, srcType, dst, dstType, n);
}

extern "C" __global__ void cv_gather_rows_k(const void* table, int tableType, const int* rows, float* out, int count,
                                            int h) {
    cv_gather_rows(table, tableType, rows, out, count, h);
}

extern "C" __global__ void cv_layernorm_k(const float* x, const float* gamma, const float* beta, float* y, int rows,
                                          int h, float eps) {
    cv_layernorm(x, gamma, beta, y, rows, h, eps);
}

extern "C" __global__ void cv_gelu_k(const float* x, float* y, long long n) {
    cv_gelu(x, y, n);
}

extern "C" __global__ void cv_add_k(const float* a, const float* b, float* out, long long n, long long bCount) {
    cv_add(a, b, out, n, bCount);
}

extern "C" __global__ void cv_bias_add_k(float* y, const float* bias, long long n, int cols) {
    cv_bias_add(y, bias, n, cols);
}

extern "C" __global__ void cv_channel_mix_k(const float* base, const float* plus, const float* logits, float* out,
                                            long long n, int h) {
    cv_channel_mix(base, plus, logits, out, n, h);
}

extern "C" __global__ void cv_copy_axis_k(const void* src, int srcType, void* dst, int dstType, long long outer,
                                          int srcAxis, int srcStart, int dstAxis, int dstStart, int len,
                                          long long inner) {
    cv_copy_axis(src, srcType, dst, dstType, outer, srcAxis, srcStart, dstAxis, dstStart, len, inner);
}
