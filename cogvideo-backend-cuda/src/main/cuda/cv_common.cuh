// Shared device helpers: element types, warp and block reductions.
#pragma once

// CV_HOST_EMULATION: the unit tests compile these headers with a host C++ compiler and a small SIMT emulator
// (src/test/cuda/cuda_emu.h) that runs each block's threads as OS threads; the only hook needed is dynamic shared
// memory below.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

// Element type codes, as io.cogvideo.backend.cuda.DeviceType.code().
enum { CV_F32 = 0, CV_F16 = 1, CV_BF16 = 2 };

#define CV_FULL_MASK 0xffffffffu

__device__ __forceinline__ float cv_to_float(float x) { return x; }
__device__ __forceinline__ float cv_to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float cv_to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// Loads element i of a buffer of element type `type` as float.
__device__ __forceinline__ float cv_load(const void* p, int type, long long i) {
    if (type == CV_F16) {
        return __half2float(static_cast<const __half*>(p)[i]);
    }
    if (type == CV_BF16) {
        return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    }
    return static_cast<const float*>(p)[i];
}

// Stores float x as element i of a buffer of element type `type` (round to nearest even).
__device__ __forceinline__ void cv_store(void* p, int type, long long i, float x) {
    if (type == CV_F16) {
        static_cast<__half*>(p)[i] = __float2half_rn(x);
    } else if (type == CV_BF16) {
        static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(x);
    } else {
        static_cast<float*>(p)[i] = x;
    }
}

__device__ __forceinline__ float cv_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(CV_FULL_MASK, v, o);
    }
    return v;
}

__device__ __forceinline__ float cv_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(CV_FULL_MASK, v, o));
    }
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 floats; the call begins and ends with a barrier so that it can be reused at once.
__device__ __forceinline__ float cv_block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    __syncthreads();
    v = cv_warp_sum(v);
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    float t = lane < warps ? scratch[lane] : 0.f;
    t = cv_warp_sum(t);
    __syncthreads();
    return t;
}

// Grid-stride loop over [0, n).
#define CV_GRID_STRIDE(i, n)                                                                   \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (long long) (n); \
         i += (long long) gridDim.x * blockDim.x)
