// Cluster masses for CogVideo's cluster-restricted sampler (CoglmStrategy): per logit row,
// P_c = sum over tokens t of cluster c of softmax(logits / temperature)_t.
// One block per row; the cluster sums live in dynamic shared memory (clusters floats).
#pragma once

#include "cv_common.cuh"

__device__ __forceinline__ void cv_cluster_mass(const float* logits, long long rowStride, const int* clusterOf,
                                                float* mass, int rows, int vocab, int clusters,
                                                float invTemperature) {
    CV_DYNAMIC_SHARED(float, sums);
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* l = logits + (long long) r * rowStride;
        for (int c = threadIdx.x; c < clusters; c += blockDim.x) {
            sums[c] = 0.f;
        }
        float mx = -INFINITY;
        for (int t = threadIdx.x; t < vocab; t += blockDim.x) {
            mx = fmaxf(mx, l[t] * invTemperature);
        }
        mx = cv_block_max(mx, scratch);  // also orders the zeroing of sums before the atomics
        float total = 0.f;
        for (int t = threadIdx.x; t < vocab; t += blockDim.x) {
            const float e = expf(l[t] * invTemperature - mx);
            total += e;
            atomicAdd(&sums[clusterOf[t]], e);
        }
        total = cv_block_sum(total, scratch);
        const float inv = total > 0.f ? 1.f / total : 0.f;
        float* out = mass + (long long) r * clusters;
        for (int c = threadIdx.x; c < clusters; c += blockDim.x) {
            out[c] = sums[c] * inv;
        }
        __syncthreads();  // sums are reused by the next row
    }
}
