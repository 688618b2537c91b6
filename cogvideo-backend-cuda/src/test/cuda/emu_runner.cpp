// Runs the backend's kernels (the production headers of src/main/cuda) under the host SIMT emulator. Driven by
// io.cogvideo.backend.cuda.EmulatedKernelsTest: binary requests on stdin, binary results on stdout, little-endian.
// Each request: int32 op, the op's scalars (grid size and block size first), then its float/int inputs; the reply
// is the op's float output. Outputs are poisoned with NaN before the launch so that unwritten elements show.
#include "cuda_emu.h"

#include "cv_attention.cuh"
#include "cv_elementwise.cuh"

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace {

template <typename T>
T rd() {
    T v;
    if (fread(&v, sizeof(T), 1, stdin) != 1) {
        fprintf(stderr, "emu_runner: truncated input\n");
        exit(3);
    }
    return v;
}

std::vector<float> rdFloats(long long n) {
    std::vector<float> v(static_cast<size_t>(n));
    if (n > 0 && fread(v.data(), sizeof(float), v.size(), stdin) != v.size()) {
        fprintf(stderr, "emu_runner: truncated float input\n");
        exit(3);
    }
    return v;
}

std::vector<int> rdInts(long long n) {
    std::vector<int> v(static_cast<size_t>(n));
    if (n > 0 && fread(v.data(), sizeof(int), v.size(), stdin) != v.size()) {
        fprintf(stderr, "emu_runner: truncated int input\n");
        exit(3);
    }
    return v;
}

void out(const std::vector<float>& v) {
    fwrite(v.data(), sizeof(float), v.size(), stdout);
}

int typeBytes(int t) { return t == CV_F32 ? 4 : 2; }

// Floats stored as element type t.
std::vector<unsigned char> typed(const std::vector<float>& f, int t) {
    std::vector<unsigned char> b(f.size() * typeBytes(t) + 16);
    for (size_t i = 0; i < f.size(); ++i) {
        cv_store(b.data(), t, static_cast<long long>(i), f[i]);
    }
    return b;
}

std::vector<float> floats(const std::vector<unsigned char>& b, int t, long long n) {
    std::vector<float> f(static_cast<size_t>(n));
    for (long long i = 0; i < n; ++i) {
        f[i] = cv_load(b.data(), t, i);
    }
    return f;
}

const float NaN = std::numeric_limits<float>::quiet_NaN();

template <typename KV>
void runAttention(bool decode, int bucket, unsigned gx, unsigned gy, unsigned gz, unsigned threads, CvAttnParams p) {
    auto body = [&]() {
        if (decode) {
            if (bucket == 32) cv_attn_decode<32, KV>(p);
            else if (bucket == 64) cv_attn_decode<64, KV>(p);
            else cv_attn_decode<128, KV>(p);
        } else {
            // the RQ of each bucket, as in cogvideo.cu
            if (bucket == 32) cv_attn_prefill<32, 8, KV>(p);
            else if (bucket == 64) cv_attn_prefill<64, 8, KV>(p);
            else cv_attn_prefill<128, 4, KV>(p);
        }
    };
    cv_emu_launch(gx, gy, gz, threads, 0, body);
}

void opAttention() {
    const int decode = rd<int>();
    const int bucket = rd<int>();
    const unsigned gx = rd<int>(), gy = rd<int>(), gz = rd<int>(), threads = rd<int>();
    const int kvType = rd<int>();
    const int batch = rd<int>();
    const int kRows = rd<int>();
    CvAttnParams p;
    if (fread(&p, sizeof(p), 1, stdin) != 1) {
        exit(3);
    }
    const long long width = static_cast<long long>(p.m.heads) * p.headDim;
    std::vector<float> q = rdFloats(batch * static_cast<long long>(p.nq) * width);
    std::vector<float> kf = rdFloats(batch * static_cast<long long>(kRows) * width);
    std::vector<float> vf = rdFloats(batch * static_cast<long long>(kRows) * width);
    std::vector<unsigned char> k = typed(kf, kvType);
    std::vector<unsigned char> v = typed(vf, kvType);
    std::vector<float> o(q.size(), NaN);
    std::vector<float> ws;
    p.q = q.data();
    p.k = k.data();
    p.v = v.data();
    if (p.splits > 1) {
        ws.assign(static_cast<size_t>(batch) * p.nq * p.m.heads * p.splits * (p.headDim + 2), NaN);
        p.out = ws.data();
    } else {
        p.out = o.data();
    }
    if (kvType == CV_F16) runAttention<__half>(decode, bucket, gx, gy, gz, threads, p);
    else if (kvType == CV_BF16) runAttention<__nv_bfloat16>(decode, bucket, gx, gy, gz, threads, p);
    else runAttention<float>(decode, bucket, gx, gy, gz, threads, p);
    if (p.splits > 1) {
        const int nq = p.nq, heads = p.m.heads, d = p.headDim, splits = p.splits;
        const long long oBatch = p.oBatch;
        const int oRow = p.oRow;
        float* wsp = ws.data();
        float* op = o.data();
        cv_emu_launch(heads, batch * nq, 1, 64, 0,
                      [&]() { cv_attn_combine(wsp, op, nq, heads, d, splits, oBatch, oRow); });
    }
    out(o);
}

void opLayerNorm() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const int rows = rd<int>(), h = rd<int>();
    const float eps = rd<float>();
    std::vector<float> x = rdFloats(static_cast<long long>(rows) * h), g = rdFloats(h), b = rdFloats(h);
    std::vector<float> y(x.size(), NaN);
    cv_emu_launch(gx, 1, 1, threads, 0, [&]() { cv_layernorm(x.data(), g.data(), b.data(), y.data(), rows, h, eps); });
    out(y);
}

void opGelu() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const long long n = rd<long long>();
    std::vector<float> x = rdFloats(n), y(static_cast<size_t>(n), NaN);
    cv_emu_launch(gx, 1, 1, threads, 0, [&]() { cv_gelu(x.data(), y.data(), n); });
    out(y);
}

void opAdd() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const long long n = rd<long long>(), bCount = rd<long long>();
    std::vector<float> a = rdFloats(n), b = rdFloats(bCount), y(static_cast<size_t>(n), NaN);
    cv_emu_launch(gx, 1, 1, threads, 0, [&]() { cv_add(a.data(), b.data(), y.data(), n, bCount); });
    out(y);
}

void opBiasAdd() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const long long n = rd<long long>();
    const int cols = rd<int>();
    std::vector<float> y = rdFloats(n), bias = rdFloats(cols);
    cv_emu_launch(gx, 1, 1, threads, 0, [&]() { cv_bias_add(y.data(), bias.data(), n, cols); });
    out(y);
}

void opChannelMix() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const long long n = rd<long long>();
    const int h = rd<int>();
    std::vector<float> base = rdFloats(n), plus = rdFloats(n), logits = rdFloats(h), y(static_cast<size_t>(n), NaN);
    cv_emu_launch(gx, 1, 1, threads, 0,
                  [&]() { cv_channel_mix(base.data(), plus.data(), logits.data(), y.data(), n, h); });
    out(y);
}

void opCopyAxis() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const int srcType = rd<int>(), dstType = rd<int>();
    const long long outer = rd<long long>();
    const int srcAxis = rd<int>(), srcStart = rd<int>(), dstAxis = rd<int>(), dstStart = rd<int>(), len = rd<int>();
    const long long inner = rd<long long>();
    std::vector<float> srcF = rdFloats(outer * srcAxis * inner);
    std::vector<float> dstF = rdFloats(outer * dstAxis * inner);
    std::vector<unsigned char> src = typed(srcF, srcType);
    std::vector<unsigned char> dst = typed(dstF, dstType);
    cv_emu_launch(gx, 1, 1, threads, 0, [&]() {
        cv_copy_axis(src.data(), srcType, dst.data(), dstType, outer, srcAxis, srcStart, dstAxis, dstStart, len,
                     inner);
    });
    out(floats(dst, dstType, outer * dstAxis * inner));
}

void opConvert() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const int srcType = rd<int>(), dstType = rd<int>();
    const long long n = rd<long long>();
    std::vector<unsigned char> src = typed(rdFloats(n), srcType);
    std::vector<unsigned char> dst(static_cast<size_t>(n) * typeBytes(dstType) + 16, 0xff);
    cv_emu_launch(gx, 1, 1, threads, 0, [&]() { cv_convert(src.data(), srcType, dst.data(), dstType, n); });
    out(floats(dst, dstType, n));
}

void opGather() {
    const unsigned gx = rd<int>(), threads = rd<int>();
    const int tableType = rd<int>(), vocab = rd<int>(), h = rd<int>(), count = rd<int>();
    std::vector<unsigned char> table = typed(rdFloats(static_cast<long long>(vocab) * h), tableType);
    std::vector<int> rows = rdInts(count);
    std::vector<float> y(static_cast<size_t>(count) * h, NaN);
    cv_emu_launch(gx, 1, 1, threads, 0,
                  [&]() { cv_gather_rows(table.data(), tableType, rows.data(), y.data(), count, h); });
    out(y);
}

// Visibility of every (query, key) pair by cv_visible (0/1; 2 if cv_visible_info disagrees), then the key ranges
// of every tile of tileRows query rows (int32 a0, a1, b0, b1).
void opMask() {
    CvAttnParams p;
    if (fread(&p, sizeof(p), 1, stdin) != 1) {
        exit(3);
    }
    const int tileRows = rd<int>();
    const CvMask& m = p.m;
    std::vector<unsigned char> vis(static_cast<size_t>(p.nq) * p.keyLength);
    for (int q = 0; q < p.nq; ++q) {
        const CvRowInfo qi = cv_query_info(m, q);
        for (int k = 0; k < p.keyLength; ++k) {
            const bool a = cv_visible(m, q, k);
            const bool b = cv_visible_info(m, qi, cv_key_info(m, k), k);
            vis[static_cast<size_t>(q) * p.keyLength + k] = a != b ? 2 : (a ? 1 : 0);
        }
    }
    fwrite(vis.data(), 1, vis.size(), stdout);
    for (int q0 = 0; q0 < p.nq; q0 += tileRows) {
        const int q1 = q0 + tileRows < p.nq ? q0 + tileRows : p.nq;
        const CvKeyRanges r = cv_key_ranges(m, q0, q1, p.keyLength);
        const int v[4] = {r.a0, r.a1, r.b0, r.b1};
        fwrite(v, sizeof(int), 4, stdout);
    }
}

}  // namespace

int main() {
    while (true) {
        int op;
        if (fread(&op, sizeof(op), 1, stdin) != 1) {
            break;
        }
        switch (op) {
            case 1: opAttention(); break;
            case 2: opLayerNorm(); break;
            case 3: opGelu(); break;
            case 4: opAdd(); break;
            case 5: opBiasAdd(); break;
            case 6: opChannelMix(); break;
            case 7: opCopyAxis(); break;
            case 8: opConvert(); break;
            case 9: opGather(); break;
            case 11: opMask(); break;
            default: fprintf(stderr, "emu_runner: unknown op %d\n", op); return 2;
        }
        fflush(stdout);
    }
    return 0;
}
