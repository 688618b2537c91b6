// CogVideo's structured attention mask, evaluated on the fly.
//
// This header is plain C++ as well as CUDA: the unit tests compile it for the host (g++/nvcc) and compare every
// function here against the Java reference io.cogvideo.spi.AttentionMask.visible, so the device code below is the
// code that is tested. The struct layouts are the ABI shared with io.cogvideo.backend.cuda.AttentionParams (Java
// packs the same bytes); the static_asserts pin every offset.
#pragma once

#include <stddef.h>

#ifdef __CUDACC__
#define CV_HD __host__ __device__ __forceinline__
#else
#define CV_HD inline
#endif

enum { CV_SCOPE_OWN_FRAME = 0, CV_SCOPE_ALL_FRAMES = 1, CV_SCOPE_WINDOW = 2 };

// The fields of io.cogvideo.spi.AttentionMask, in record order (booleans as 0/1).
struct CvMask {
    int heads;
    int textLength;
    int textPadding;
    float textBoost;
    int queriesIncludeText;
    int queryFrameStart;
    int keyFrameStart;
    int frameLength;
    int grid;
    int scope;
    int causal;
    int windowSize;
    int shift;
    int wrapAround;
};

// One attention launch. Strides are in elements. For split launches (decode with splits > 1) `out` is the
// partial-result workspace [batch*nq][heads][splits][headDim + 2] (max, sum, unnormalised accumulator).
struct CvAttnParams {
    const float* q;
    const void* k;
    const void* v;
    float* out;
    long long qBatch;
    long long kBatch;
    long long oBatch;
    int qRow;
    int kRow;
    int oRow;
    int nq;
    int keyLength;
    int headDim;
    int splits;
    float scale;
    CvMask m;
};

static_assert(sizeof(CvMask) == 56, "CvMask layout is shared with AttentionParams.java");
static_assert(offsetof(CvMask, textBoost) == 12, "CvMask layout");
static_assert(offsetof(CvMask, wrapAround) == 52, "CvMask layout");
static_assert(offsetof(CvAttnParams, q) == 0, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, k) == 8, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, v) == 16, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, out) == 24, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, qBatch) == 32, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, kBatch) == 40, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, oBatch) == 48, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, qRow) == 56, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, kRow) == 60, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, oRow) == 64, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, nq) == 68, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, keyLength) == 72, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, headDim) == 76, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, splits) == 80, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, scale) == 84, "CvAttnParams layout");
static_assert(offsetof(CvAttnParams, m) == 88, "CvAttnParams layout");
static_assert(sizeof(CvAttnParams) == 144, "CvAttnParams layout is shared with AttentionParams.java");

CV_HD int cv_floor_mod(int a, int n) {
    int r = a % n;
    return r < 0 ? r + n : r;
}

// Window id of frame-space position p (row window << 16 | column window), as AttentionMask.windowId.
CV_HD int cv_window_id(const CvMask& m, int p) {
    int inFrame = p % m.frameLength;
    int r = inFrame / m.grid;
    int c = inFrame % m.grid;
    int wr;
    int wc;
    if (m.wrapAround) {
        wr = cv_floor_mod(r - m.shift, m.grid) / m.windowSize;
        wc = cv_floor_mod(c - m.shift, m.grid) / m.windowSize;
    } else {
        wr = (r + m.shift) / m.windowSize;
        wc = (c + m.shift) / m.windowSize;
    }
    return (wr << 16) | wc;
}

CV_HD int cv_query_position(const CvMask& m, int q) {
    return m.queryFrameStart + (m.queriesIncludeText ? q - m.textLength : q);
}

// Reference visibility, a transcription of AttentionMask.visible(q, k).
CV_HD bool cv_visible(const CvMask& m, int q, int k) {
    if (k < m.textLength) {
        // pad keys are hidden from every query but the pad queries themselves (CogView2's convention)
        return k >= m.textPadding || (m.queriesIncludeText && q < m.textPadding);
    }
    if (m.queriesIncludeText && q < m.textLength) {
        return false;
    }
    int pq = cv_query_position(m, q);
    int pk = m.keyFrameStart + (k - m.textLength);
    if (m.causal && pk > pq) {
        return false;
    }
    if (m.scope == CV_SCOPE_OWN_FRAME) {
        return pq / m.frameLength == pk / m.frameLength;
    }
    if (m.scope == CV_SCOPE_ALL_FRAMES) {
        return true;
    }
    return cv_window_id(m, pq) == cv_window_id(m, pk);
}

// Per-row / per-key precomputation so that the inner loops compare integers only.
struct CvRowInfo {
    int text;   // 1: text query row (sees text keys only) / text key
    int pos;    // frame-space position (frame rows / keys)
    int frame;  // pos / frameLength
    int win;    // window id (WINDOW scope only)
    int pad;    // 1: a pad query row (sees the pad keys too)
};

CV_HD CvRowInfo cv_query_info(const CvMask& m, int q) {
    CvRowInfo r;
    r.text = (m.queriesIncludeText && q < m.textLength) ? 1 : 0;
    r.pad = (m.queriesIncludeText && q < m.textPadding) ? 1 : 0;
    r.pos = r.text ? 0 : cv_query_position(m, q);
    r.frame = r.pos / m.frameLength;
    r.win = m.scope == CV_SCOPE_WINDOW && !r.text ? cv_window_id(m, r.pos) : 0;
    return r;
}

CV_HD CvRowInfo cv_key_info(const CvMask& m, int k) {
    CvRowInfo r;
    r.text = k < m.textLength ? 1 : 0;
    r.pad = 0;
    r.pos = r.text ? 0 : m.keyFrameStart + (k - m.textLength);
    r.frame = r.pos / m.frameLength;
    r.win = m.scope == CV_SCOPE_WINDOW && !r.text ? cv_window_id(m, r.pos) : 0;
    return r;
}

// Same answer as cv_visible(m, q, k) for qi = cv_query_info(m, q), ki = cv_key_info(m, k).
CV_HD bool cv_visible_info(const CvMask& m, const CvRowInfo& qi, const CvRowInfo& ki, int k) {
    if (ki.text) {
        return k >= m.textPadding || qi.pad;
    }
    if (qi.text) {
        return false;
    }
    if (m.causal && ki.pos > qi.pos) {
        return false;
    }
    if (m.scope == CV_SCOPE_OWN_FRAME) {
        return qi.frame == ki.frame;
    }
    if (m.scope == CV_SCOPE_ALL_FRAMES) {
        return true;
    }
    return qi.win == ki.win;
}

// Key rows that query rows [q0, q1) may see lie in [a0, a1) (text) or [b0, b1) (frames), with a1 <= b0: a
// conservative bound (every visible key is inside; not every key inside is visible), used to skip key tiles.
struct CvKeyRanges {
    int a0;
    int a1;
    int b0;
    int b1;
};

CV_HD int cv_min(int a, int b) { return a < b ? a : b; }
CV_HD int cv_max(int a, int b) { return a > b ? a : b; }

CV_HD CvKeyRanges cv_key_ranges(const CvMask& m, int q0, int q1, int keyLength) {
    CvKeyRanges r;
    int text = cv_min(m.textLength, keyLength);
    r.a0 = (m.queriesIncludeText && q0 < m.textPadding) ? 0 : cv_min(m.textPadding, text);
    r.a1 = text;
    r.b0 = text;
    r.b1 = text;
    int f0 = m.queriesIncludeText ? cv_max(q0, m.textLength) : q0;  // first frame query row of the tile
    if (f0 >= q1 || keyLength <= m.textLength) {
        return r;
    }
    int pqMin = cv_query_position(m, f0);
    int pqMax = cv_query_position(m, q1 - 1);
    long long lo = m.keyFrameStart;
    long long hi = (long long) m.keyFrameStart + (keyLength - m.textLength);  // key positions [lo, hi)
    if (m.causal && hi > (long long) pqMax + 1) {
        hi = (long long) pqMax + 1;
    }
    if (m.scope == CV_SCOPE_OWN_FRAME) {
        long long fLo = (long long) (pqMin / m.frameLength) * m.frameLength;
        long long fHi = (long long) (pqMax / m.frameLength + 1) * m.frameLength;
        if (lo < fLo) {
            lo = fLo;
        }
        if (hi > fHi) {
            hi = fHi;
        }
    }
    if (hi <= lo) {
        return r;
    }
    r.b0 = m.textLength + (int) (lo - m.keyFrameStart);
    r.b1 = m.textLength + (int) (hi - m.keyFrameStart);
    return r;
}

// Number of key tiles of `tile` rows covering both ranges (each range tiled on its own).
CV_HD int cv_range_tiles(const CvKeyRanges& r, int tile, int* tilesA) {
    int na = (r.a1 - r.a0 + tile - 1) / tile;
    int nb = (r.b1 - r.b0 + tile - 1) / tile;
    *tilesA = na;
    return na + nb;
}
