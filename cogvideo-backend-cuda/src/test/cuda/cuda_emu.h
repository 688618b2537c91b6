// A tiny SIMT emulator: enough of CUDA's device dialect to run the backend's kernel headers (src/main/cuda/*.cuh)
// on the host, so that the kernels' indexing, tiling and online-softmax logic are tested without a GPU.
//
// One block runs at a time; each of its threads is an OS thread. __syncthreads is a barrier over the block, a warp
// shuffle is a write to a per-warp exchange array between two barriers over the warp's 32 threads, __shared__
// variables are function-local statics (shared by the threads of the one running block). This checks the
// arithmetic and the control flow (every lane must reach every shuffle, every thread every __syncthreads: a kernel
// that breaks that deadlocks here rather than silently on a GPU). It does not model the memory model, timing or
// bank conflicts: races and performance need a real GPU.
#pragma once

#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <math.h>
#include <memory>
#include <thread>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

// cuda_fp16.h (through host_defines.h) defines these for a host compiler; the emulator's meaning replaces them.
#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct CvEmuDim {
    unsigned x = 1;
    unsigned y = 1;
    unsigned z = 1;
};

inline thread_local CvEmuDim threadIdx;
inline thread_local CvEmuDim blockIdx;
inline CvEmuDim blockDim;
inline CvEmuDim gridDim;

struct CvEmuBlock {
    std::unique_ptr<std::barrier<>> block;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<float> exchange;  // [warps][32]
    std::vector<unsigned char> dynamicShared;
};

inline CvEmuBlock* cv_emu_block = nullptr;

inline void* cv_emu_dynamic_shared() { return cv_emu_block->dynamicShared.data(); }

inline void __syncthreads() { cv_emu_block->block->arrive_and_wait(); }

inline float cv_emu_exchange(float v, int srcLane) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    float* ex = cv_emu_block->exchange.data() + warp * 32;
    ex[lane] = v;
    cv_emu_block->warps[warp]->arrive_and_wait();
    const float r = ex[srcLane & 31];
    cv_emu_block->warps[warp]->arrive_and_wait();
    return r;
}

inline float __shfl_sync(unsigned, float v, int srcLane) { return cv_emu_exchange(v, srcLane); }

inline float __shfl_xor_sync(unsigned, float v, int laneMask) {
    return cv_emu_exchange(v, (static_cast<int>(threadIdx.x & 31)) ^ laneMask);
}

inline float __expf(float x) { return expf(x); }

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }

// Runs `body` for every block of a gx x gy x gz grid of `threads`-thread blocks (threads a multiple of 32).
inline void cv_emu_launch(unsigned gx, unsigned gy, unsigned gz, unsigned threads, size_t dynamicSharedBytes,
                          const std::function<void()>& body) {
    gridDim = CvEmuDim{gx, gy, gz};
    blockDim = CvEmuDim{threads, 1, 1};
    const unsigned warps = (threads + 31) / 32;
    for (unsigned z = 0; z < gz; ++z) {
        for (unsigned y = 0; y < gy; ++y) {
            for (unsigned x = 0; x < gx; ++x) {
                CvEmuBlock blk;
                blk.block = std::make_unique<std::barrier<>>(threads);
                for (unsigned w = 0; w < warps; ++w) {
                    blk.warps.push_back(std::make_unique<std::barrier<>>(32));
                }
                blk.exchange.assign(warps * 32, 0.f);
                blk.dynamicShared.assign(dynamicSharedBytes + 16, 0);
                cv_emu_block = &blk;
                std::vector<std::thread> ts;
                ts.reserve(threads);
                for (unsigned t = 0; t < threads; ++t) {
                    ts.emplace_back([&, t] {
                        threadIdx = CvEmuDim{t, 0, 0};
                        blockIdx = CvEmuDim{x, y, z};
                        body();
                    });
                }
                for (auto& th : ts) {
                    th.join();
                }
                cv_emu_block = nullptr;
            }
        }
    }
}
