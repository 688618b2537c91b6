package io.cogvideo.backend.cpu;

import java.util.Arrays;

/**
 * The CPU backend's former forward conv2d, kept as a test reference and the bench's baseline: im2col one sample at
 * a time (bands of output rows under {@code 1 << 23} floats) and one OpenBLAS GEMM per sample or band, bias added
 * afterwards; a 1x1 stride-1 unpadded convolution is one GEMM per sample.
 */
final class PerSampleConv2d {
    private PerSampleConv2d() {
    }

    /** {@code x} [n, c, h, wd] conv {@code w} [o, c, kh, kw] (+ {@code bias} [o] or null): [n, o, ho, wo] floats. */
    static float[] conv2d(float[] src, int[] xs, float[] wm, int[] ws, float[] bias, int stride, int padTop,
            int padBottom, int padLeft, int padRight) {
        int n = xs[0];
        int c = xs[1];
        int h = xs[2];
        int wd = xs[3];
        int o = ws[0];
        int kh = ws[2];
        int kw = ws[3];
        int ho = (h + padTop + padBottom - kh) / stride + 1;
        int wo = (wd + padLeft + padRight - kw) / stride + 1;
        int k = c * kh * kw;
        int plane = ho * wo;
        float[] out = new float[n * o * plane];
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && padTop == 0 && padBottom == 0 && padLeft == 0
                && padRight == 0;
        int band = Math.max(1, Math.min(ho, (1 << 23) / Math.max(1, k * wo)));
        for (int in = 0; in < n; in++) {
            if (pointwise) {
                float[] xin = Arrays.copyOfRange(src, in * c * plane, (in + 1) * c * plane); // [c, h*w]
                float[] res = new float[o * plane];
                Blas.sgemm(false, false, o, plane, c, 1f, wm, xin, 0f, res);
                System.arraycopy(res, 0, out, in * o * plane, o * plane);
                continue;
            }
            for (int oy0 = 0; oy0 < ho; oy0 += band) {
                int rows = Math.min(band, ho - oy0);
                int cols = rows * wo;
                float[] col = new float[k * cols];
                for (int ci = 0; ci < c; ci++) {
                    int pl = (in * c + ci) * h * wd;
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            int row = ((ci * kh + ky) * kw + kx) * cols;
                            for (int r = 0; r < rows; r++) {
                                int iy = (oy0 + r) * stride - padTop + ky;
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int ox = 0; ox < wo; ox++) {
                                    int ix = ox * stride - padLeft + kx;
                                    if (ix >= 0 && ix < wd) {
                                        col[row + r * wo + ox] = src[pl + iy * wd + ix];
                                    }
                                }
                            }
                        }
                    }
                }
                float[] r = new float[o * cols];
                Blas.sgemm(false, false, o, cols, k, 1f, wm, col, 0f, r);
                for (int oc = 0; oc < o; oc++) {
                    System.arraycopy(r, oc * cols, out, (in * o + oc) * plane + oy0 * wo, cols);
                }
            }
        }
        if (bias != null) {
            for (int in = 0; in < n; in++) {
                for (int oc = 0; oc < o; oc++) {
                    int base = (in * o + oc) * plane;
                    for (int i = 0; i < plane; i++) {
                        out[base + i] += bias[oc];
                    }
                }
            }
        }
        return out;
    }
}
