// Fused multi-head attention with CogVideo's structured mask computed on the fly (never materialised).
//
// Flash-attention style: key/value tiles of 32 rows, online softmax (running max and sum per query row), fp32
// accumulation; K/V may be float, half or bfloat16 (fp16 caches), Q and the output are float. Key tiles outside the
// conservative ranges of cv_key_ranges are never touched; inside them every (query, key) pair is tested exactly.
//
//  * cv_attn_prefill: many query rows. A block of 4 warps owns RQ query rows per warp (32 rows for head widths
//    <= 64), stages each K/V tile in shared memory once for all of them. Lane j of a warp scores key j of the tile
//    against one query row at a time, so a tile costs one warp max and one warp sum per row.
//  * cv_attn_decode: few query rows (the cached one-token step). A block serves one (batch, query row, head) and
//    a slice ("split") of the key tiles; its 4 warps take alternate tiles, read only visible K/V rows straight
//    from global memory, and merge their states in shared memory. With splits > 1 each block writes a partial
//    (max, sum, accumulator) and cv_attn_combine merges the splits.
#pragma once

#include "cv_attention_params.cuh"
#include "cv_common.cuh"

#define CV_ATTN_TILE 32
#define CV_ATTN_WARPS 4

// ------------------------------------------------------------------------------------------------ prefill

template <int D, int RQ, typename KV>
__device__ __forceinline__ void cv_attn_prefill(const CvAttnParams& p) {
    constexpr int NW = CV_ATTN_WARPS;
    constexpr int BQ = NW * RQ;
    constexpr int BK = CV_ATTN_TILE;
    constexpr int C = D / 32;
    __shared__ float sQ[BQ][D];
    __shared__ float sK[BK][D + 1];  // +1: lane j reads row j, padding keeps the 32 lanes in distinct banks
    __shared__ float sV[BK][D];
    __shared__ CvRowInfo sQi[BQ];  // per query row; read as a broadcast (keeps RQ x 4 registers free)

    const CvMask& m = p.m;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int h = blockIdx.y;
    const int qTiles = (p.nq + BQ - 1) / BQ;
    const int b = blockIdx.z / qTiles;
    const int q0 = (blockIdx.z % qTiles) * BQ;
    const int q1 = cv_min(q0 + BQ, p.nq);
    const int d = p.headDim;

    const float* qb = p.q + (long long) b * p.qBatch + (long long) h * d;
    for (int i = threadIdx.x; i < BQ * D; i += NW * 32) {
        int r = i / D;
        int c = i % D;
        float x = 0.f;
        if (q0 + r < q1 && c < d) {
            x = qb[(long long) (q0 + r) * p.qRow + c] * p.scale;
        }
        sQ[r][c] = x;
    }
    for (int r = threadIdx.x; r < BQ; r += NW * 32) {
        sQi[r] = cv_query_info(m, q0 + r < q1 ? q0 + r : q0);
    }

    float mrow[RQ];
    float lrow[RQ];
    float acc[RQ][C];
#pragma unroll
    for (int r = 0; r < RQ; ++r) {
        mrow[r] = -INFINITY;
        lrow[r] = 0.f;
#pragma unroll
        for (int c = 0; c < C; ++c) {
            acc[r][c] = 0.f;
        }
    }

    const CvKeyRanges kr = cv_key_ranges(m, q0, q1, p.keyLength);
    int tilesA;
    const int tiles = cv_range_tiles(kr, BK, &tilesA);
    const KV* kb = static_cast<const KV*>(p.k) + (long long) b * p.kBatch + (long long) h * d;
    const KV* vb = static_cast<const KV*>(p.v) + (long long) b * p.kBatch + (long long) h * d;

    for (int t = 0; t < tiles; ++t) {
        int kt;
        int kend;
        if (t < tilesA) {
            kt = kr.a0 + t * BK;
            kend = kr.a1;
        } else {
            kt = kr.b0 + (t - tilesA) * BK;
            kend = kr.b1;
        }
        __syncthreads();  // the previous tile is consumed (and sQ, sQi are written before the first)
        for (int i = threadIdx.x; i < BK * D; i += NW * 32) {
            int r = i / D;
            int c = i % D;
            float kx = 0.f;
            float vx = 0.f;
            if (kt + r < kend && c < d) {
                long long off = (long long) (kt + r) * p.kRow + c;
                kx = cv_to_float(kb[off]);
                vx = cv_to_float(vb[off]);
            }
            sK[r][c] = kx;
            sV[r][c] = vx;
        }
        __syncthreads();

        const int key = kt + lane;
        const bool inTile = key < kend;
        const CvRowInfo kinfo = cv_key_info(m, key);
        const float boost = key < m.textLength ? m.textBoost : 0.f;
#pragma unroll
        for (int r = 0; r < RQ; ++r) {
            const int row = warp * RQ + r;
            if (q0 + row >= q1) {
                continue;  // warp-uniform
            }
            const bool vis = inTile && cv_visible_info(m, sQi[row], kinfo, key);
            float s = -INFINITY;
            if (vis) {
                float dot = 0.f;
#pragma unroll 16
                for (int c = 0; c < D; ++c) {
                    dot = fmaf(sQ[row][c], sK[lane][c], dot);
                }
                s = dot + boost;
            }
            const float tmax = cv_warp_max(s);
            if (tmax == -INFINITY) {
                continue;  // nothing visible for this row in this tile (warp-uniform)
            }
            const float mnew = fmaxf(mrow[r], tmax);
            const float corr = __expf(mrow[r] - mnew);  // 0 while mrow is -inf
            const float pj = vis ? __expf(s - mnew) : 0.f;
            lrow[r] = lrow[r] * corr + cv_warp_sum(pj);
#pragma unroll
            for (int c = 0; c < C; ++c) {
                acc[r][c] *= corr;
            }
            for (int j = 0; j < BK; ++j) {
                const float pb = __shfl_sync(CV_FULL_MASK, pj, j);
                if (pb != 0.f) {  // warp-uniform: pb is lane j's value
#pragma unroll
                    for (int c = 0; c < C; ++c) {
                        acc[r][c] = fmaf(pb, sV[j][lane + 32 * c], acc[r][c]);
                    }
                }
            }
            mrow[r] = mnew;
        }
    }

#pragma unroll
    for (int r = 0; r < RQ; ++r) {
        const int qrow = q0 + warp * RQ + r;
        if (qrow >= q1) {
            continue;
        }
        const float inv = lrow[r] > 0.f ? 1.f / lrow[r] : 0.f;  // a row that sees nothing gives 0
        float* ob = p.out + (long long) b * p.oBatch + (long long) qrow * p.oRow + (long long) h * d;
#pragma unroll
        for (int c = 0; c < C; ++c) {
            const int col = lane + 32 * c;
            if (col < d) {
                ob[col] = acc[r][c] * inv;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------ decode

template <int D, typename KV>
__device__ __forceinline__ void cv_attn_decode(const CvAttnParams& p) {
    constexpr int NW = CV_ATTN_WARPS;
    constexpr int BK = CV_ATTN_TILE;
    constexpr int C = D / 32;
    __shared__ float sQ[D];
    __shared__ float sM[NW];
    __shared__ float sL[NW];
    __shared__ float sAcc[NW][D];

    const CvMask& m = p.m;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int split = blockIdx.x;
    const int h = blockIdx.y;
    const int z = blockIdx.z;  // b * nq + query row
    const int b = z / p.nq;
    const int qrow = z % p.nq;
    const int d = p.headDim;

    const float* qr = p.q + (long long) b * p.qBatch + (long long) qrow * p.qRow + (long long) h * d;
    for (int c = threadIdx.x; c < D; c += NW * 32) {
        sQ[c] = c < d ? qr[c] * p.scale : 0.f;
    }
    __syncthreads();

    const CvRowInfo qinfo = cv_query_info(m, qrow);
    const CvKeyRanges kr = cv_key_ranges(m, qrow, qrow + 1, p.keyLength);
    int tilesA;
    const int tiles = cv_range_tiles(kr, BK, &tilesA);
    const int t0 = (int) ((long long) split * tiles / p.splits);
    const int t1 = (int) ((long long) (split + 1) * tiles / p.splits);
    const KV* kb = static_cast<const KV*>(p.k) + (long long) b * p.kBatch + (long long) h * d;
    const KV* vb = static_cast<const KV*>(p.v) + (long long) b * p.kBatch + (long long) h * d;

    float mw = -INFINITY;
    float lw = 0.f;
    float acc[C];
#pragma unroll
    for (int c = 0; c < C; ++c) {
        acc[c] = 0.f;
    }

    for (int t = t0 + warp; t < t1; t += NW) {
        int kt;
        int kend;
        if (t < tilesA) {
            kt = kr.a0 + t * BK;
            kend = kr.a1;
        } else {
            kt = kr.b0 + (t - tilesA) * BK;
            kend = kr.b1;
        }
        const int key = kt + lane;
        const bool vis = key < kend && cv_visible_info(m, qinfo, cv_key_info(m, key), key);
        float s = -INFINITY;
        if (vis) {
            const KV* krow = kb + (long long) key * p.kRow;
            float dot = 0.f;
#pragma unroll 16
            for (int c = 0; c < D; ++c) {
                if (c < d) {
                    dot = fmaf(sQ[c], cv_to_float(krow[c]), dot);
                }
            }
            s = dot + (key < m.textLength ? m.textBoost : 0.f);
        }
        const float tmax = cv_warp_max(s);
        if (tmax == -INFINITY) {
            continue;
        }
        const float mnew = fmaxf(mw, tmax);
        const float corr = __expf(mw - mnew);
        const float pj = vis ? __expf(s - mnew) : 0.f;
        lw = lw * corr + cv_warp_sum(pj);
#pragma unroll
        for (int c = 0; c < C; ++c) {
            acc[c] *= corr;
        }
        for (int j = 0; j < BK; ++j) {
            const float pb = __shfl_sync(CV_FULL_MASK, pj, j);
            if (pb != 0.f) {
                const KV* vrow = vb + (long long) (kt + j) * p.kRow;
#pragma unroll
                for (int c = 0; c < C; ++c) {
                    const int col = lane + 32 * c;
                    if (col < d) {
                        acc[c] = fmaf(pb, cv_to_float(vrow[col]), acc[c]);
                    }
                }
            }
        }
        mw = mnew;
    }

    if (lane == 0) {
        sM[warp] = mw;
        sL[warp] = lw;
    }
#pragma unroll
    for (int c = 0; c < C; ++c) {
        sAcc[warp][lane + 32 * c] = acc[c];
    }
    __syncthreads();
    if (warp != 0) {
        return;
    }
    float mAll = -INFINITY;
#pragma unroll
    for (int w = 0; w < NW; ++w) {
        mAll = fmaxf(mAll, sM[w]);
    }
    float lAll = 0.f;
    float a[C];
#pragma unroll
    for (int c = 0; c < C; ++c) {
        a[c] = 0.f;
    }
#pragma unroll
    for (int w = 0; w < NW; ++w) {
        const float f = sM[w] == -INFINITY ? 0.f : __expf(sM[w] - mAll);
        lAll += sL[w] * f;
#pragma unroll
        for (int c = 0; c < C; ++c) {
            a[c] += sAcc[w][lane + 32 * c] * f;
        }
    }
    if (p.splits == 1) {
        const float inv = lAll > 0.f ? 1.f / lAll : 0.f;
        float* ob = p.out + (long long) b * p.oBatch + (long long) qrow * p.oRow + (long long) h * d;
#pragma unroll
        for (int c = 0; c < C; ++c) {
            const int col = lane + 32 * c;
            if (col < d) {
                ob[col] = a[c] * inv;
            }
        }
    } else {
        float* w = p.out + (((long long) z * m.heads + h) * p.splits + split) * (d + 2);
        if (lane == 0) {
            w[0] = mAll;
            w[1] = lAll;
        }
#pragma unroll
        for (int c = 0; c < C; ++c) {
            const int col = lane + 32 * c;
            if (col < d) {
                w[2 + col] = a[c];
            }
        }
    }
}

// Merges the split partials of cv_attn_decode: grid (heads, batch * nq), any block size.
__device__ __forceinline__ void cv_attn_combine(const float* ws, float* out, int nq, int heads, int d, int splits,
                                                long long oBatch, int oRow) {
    const int h = blockIdx.x;
    const int z = blockIdx.y;
    const int b = z / nq;
    const int qrow = z % nq;
    const float* w = ws + ((long long) z * heads + h) * splits * (d + 2);
    float mAll = -INFINITY;
    for (int s = 0; s < splits; ++s) {
        mAll = fmaxf(mAll, w[(long long) s * (d + 2)]);
    }
    float* ob = out + (long long) b * oBatch + (long long) qrow * oRow + (long long) h * d;
    for (int col = threadIdx.x; col < d; col += blockDim.x) {
        float l = 0.f;
        float a = 0.f;
        for (int s = 0; s < splits; ++s) {
            const float* ws_s = w + (long long) s * (d + 2);
            const float f = ws_s[0] == -INFINITY ? 0.f : __expf(ws_s[0] - mAll);
            l += f * ws_s[1];
            a += f * ws_s[2 + col];
        }
        ob[col] = l > 0.f ? a / l : 0.f;
    }
}
