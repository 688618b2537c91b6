// Element-wise and row-wise kernels of the transformer: conversions, embedding gather, LayerNorm, GELU, residual
// add with batch broadcast, bias add, CogVideo's sigmoid channel mix, axis copies (slice / concat / write).
// Activations are float; weights and caches may be half or bfloat16 (read through cv_load).
#pragma once

#include "cv_common.cuh"

// dst[i] = (dstType) src[i]
__device__ __forceinline__ void cv_convert(const void* src, int srcType, void* dst, int dstType, long long n) {
    CV_GRID_STRIDE(i, n) {
        cv_store(dst, dstType, i, cv_load(src, srcType, i));
    }
}

// out[i, :] = table[rows[i], :] as float; grid.x = row count (grid-stride), block over columns.
__device__ __forceinline__ void cv_gather_rows(const void* table, int tableType, const int* rows, float* out,
                                               int count, int h) {
    for (int i = blockIdx.x; i < count; i += gridDim.x) {
        const long long src = (long long) rows[i] * h;
        float* o = out + (long long) i * h;
        for (int c = threadIdx.x; c < h; c += blockDim.x) {
            o[c] = cv_load(table, tableType, src + c);
        }
    }
}

// One block per row: y = (x - mean) / sqrt(var + eps) * gamma + beta (population variance, two passes).
__device__ __forceinline__ void cv_layernorm(const float* x, const float* gamma, const float* beta, float* y,
                                             int rows, int h, float eps) {
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long) r * h;
        float* yr = y + (long long) r * h;
        float s = 0.f;
        for (int c = threadIdx.x; c < h; c += blockDim.x) {
            s += xr[c];
        }
        const float mean = cv_block_sum(s, scratch) / h;
        float v = 0.f;
        for (int c = threadIdx.x; c < h; c += blockDim.x) {
            const float t = xr[c] - mean;
            v = fmaf(t, t, v);
        }
        const float var = cv_block_sum(v, scratch) / h;
        const float inv = 1.f / sqrtf(var + eps);
        for (int c = threadIdx.x; c < h; c += blockDim.x) {
            yr[c] = (xr[c] - mean) * inv * gamma[c] + beta[c];
        }
    }
}

// GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
__device__ __forceinline__ void cv_gelu(const float* x, float* y, long long n) {
    CV_GRID_STRIDE(i, n) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    }
}

// out[i] = a[i] + b[i % bCount]  (b with batch 1 broadcast over a's batch, or b the same size as a)
__device__ __forceinline__ void cv_add(const float* a, const float* b, float* out, long long n, long long bCount) {
    CV_GRID_STRIDE(i, n) {
        out[i] = a[i] + b[i % bCount];
    }
}

// y[r, c] += bias[c], in place over rows x cols
__device__ __forceinline__ void cv_bias_add(float* y, const float* bias, long long n, int cols) {
    CV_GRID_STRIDE(i, n) {
        y[i] += bias[i % cols];
    }
}

// out = sigmoid(a) * base + (1 - sigmoid(a)) * plus, a [h] broadcast over rows
__device__ __forceinline__ void cv_channel_mix(const float* base, const float* plus, const float* logits, float* out,
                                               long long n, int h) {
    CV_GRID_STRIDE(i, n) {
        const float s = 1.f / (1.f + expf(-logits[i % h]));
        out[i] = s * base[i] + (1.f - s) * plus[i];
    }
}

// The axis copy behind slice, concat and write, viewing both tensors as [outer, axis, inner]:
// dst[o, dstStart + a, j] = src[o, srcStart + a, j] for a < len, converting the element type.
__device__ __forceinline__ void cv_copy_axis(const void* src, int srcType, void* dst, int dstType, long long outer,
                                             int srcAxis, int srcStart, int dstAxis, int dstStart, int len,
                                             long long inner) {
    const long long n = outer * len * inner;
    CV_GRID_STRIDE(i, n) {
        const long long j = i % inner;
        const long long t = i / inner;
        const long long a = t % len;
        const long long o = t / len;
        const long long si = (o * srcAxis + srcStart + a) * inner + j;
        const long long di = (o * dstAxis + dstStart + a) * inner + j;
        cv_store(dst, dstType, di, cv_load(src, srcType, si));
    }
}
