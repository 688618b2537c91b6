package io.cogvideo.tokenizer.image;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;

/**
 * Image to tensor conversions of the tokenizer: icetk's {@code Resize(size) + CenterCrop(size)} on 8-bit RGB, and
 * the pixel (de)normalisation.
 *
 * <p><b>Resampling filter.</b> {@link #resizeShorterSide} is separable bilinear (triangle) interpolation with
 * pixel centres at {@code i + 0.5} and, when shrinking, the filter widened by the scale factor (anti-aliasing), the
 * weights of the taps inside the image renormalised at the borders: the filter of PIL's {@code BILINEAR} and of
 * torchvision's {@code Resize(antialias=True)} (the default since torchvision 0.17). Both passes run in double
 * precision and the result is rounded once to 8 bits, so values can differ by one 8-bit level from PIL (which
 * rounds after each pass) and from torch's fixed-point uint8 kernel. icetk resizes the uint8 tensor made by
 * {@code pil_to_tensor}; with torchvision before 0.17 that tensor resize did not anti-alias, so when shrinking by
 * more than 2x the original averaged only the two nearest pixels per axis, whereas this filter averages all
 * covered pixels (less aliasing). Enlarging is identical in both versions (plain bilinear,
 * {@code align_corners=False}).
 */
final class ImagePreprocessing {
    private ImagePreprocessing() {
    }

    /**
     * An image as 8-bit RGB planes {@code [3][h * w]}. Grayscale rasters are replicated to RGB from their raw samples
     * (as PIL's {@code convert('RGB')}); other types go through {@link BufferedImage#getRGB}; alpha is dropped.
     */
    static int[][] rgbPlanes(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[][] planes = new int[3][w * h];
        Raster r = img.getRaster();
        if (img.getType() == BufferedImage.TYPE_BYTE_GRAY) {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = row[x];
                    planes[0][y * w + x] = v;
                    planes[1][y * w + x] = v;
                    planes[2][y * w + x] = v;
                }
            }
            return planes;
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < argb.length; i++) {
            planes[0][i] = (argb[i] >> 16) & 0xff;
            planes[1][i] = (argb[i] >> 8) & 0xff;
            planes[2][i] = argb[i] & 0xff;
        }
        return planes;
    }

    /**
     * torchvision's {@code Resize(size)} for an int size: the shorter side becomes {@code size}, the longer
     * {@code int(size * long / short)}; returns the input unchanged if it already has that size.
     */
    static int[][] resizeShorterSide(int[][] planes, int w, int h, int size, int[] outWh) {
        int nw;
        int nh;
        if (w <= h) {
            nw = size;
            nh = (int) ((double) size * h / w);
        } else {
            nh = size;
            nw = (int) ((double) size * w / h);
        }
        outWh[0] = nw;
        outWh[1] = nh;
        if (nw == w && nh == h) {
            return planes;
        }
        Taps tx = taps(w, nw);
        Taps ty = taps(h, nh);
        int[][] out = new int[planes.length][nw * nh];
        double[] tmp = new double[h * nw];
        for (int c = 0; c < planes.length; c++) {
            int[] src = planes[c];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < nw; x++) {
                    double s = 0;
                    int base = tx.start[x];
                    for (int t = 0; t < tx.count[x]; t++) {
                        s += tx.weight[x][t] * src[y * w + base + t];
                    }
                    tmp[y * nw + x] = s;
                }
            }
            int[] dst = out[c];
            for (int y = 0; y < nh; y++) {
                int base = ty.start[y];
                for (int x = 0; x < nw; x++) {
                    double s = 0;
                    for (int t = 0; t < ty.count[y]; t++) {
                        s += ty.weight[y][t] * tmp[(base + t) * nw + x];
                    }
                    dst[y * nw + x] = (int) Math.max(0, Math.min(255, Math.floor(s + 0.5)));
                }
            }
        }
        return out;
    }

    private record Taps(int[] start, int[] count, double[][] weight) {
    }

    /** PIL's {@code precompute_coeffs} for the bilinear (triangle) filter of support 1. */
    private static Taps taps(int in, int out) {
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale; // triangle support 1.0, widened when shrinking
        int[] start = new int[out];
        int[] count = new int[out];
        double[][] weight = new double[out][];
        for (int i = 0; i < out; i++) {
            double centre = (i + 0.5) * scale;
            int lo = Math.max(0, (int) Math.floor(centre - support + 0.5));
            int hi = Math.min(in, (int) Math.floor(centre + support + 0.5));
            double[] ws = new double[Math.max(0, hi - lo)];
            double total = 0;
            for (int j = lo; j < hi; j++) {
                double d = Math.abs((j - centre + 0.5) / filterScale);
                double v = d < 1.0 ? 1.0 - d : 0.0;
                ws[j - lo] = v;
                total += v;
            }
            if (total != 0) {
                for (int j = 0; j < ws.length; j++) {
                    ws[j] /= total;
                }
            }
            start[i] = lo;
            count[i] = ws.length;
            weight[i] = ws;
        }
        return new Taps(start, count, weight);
    }

    /**
     * torchvision's {@code CenterCrop(size)} on an image at least {@code size} wide and high: offsets
     * {@code int(round((h - size) / 2))} with Python's round-half-to-even.
     */
    static int[][] centerCrop(int[][] planes, int w, int h, int size) {
        int top = (int) Math.rint((h - size) / 2.0);
        int left = (int) Math.rint((w - size) / 2.0);
        if (top == 0 && left == 0 && w == size && h == size) {
            return planes;
        }
        int[][] out = new int[planes.length][size * size];
        for (int c = 0; c < planes.length; c++) {
            for (int y = 0; y < size; y++) {
                System.arraycopy(planes[c], (top + y) * w + left, out[c], y * size, size);
            }
        }
        return out;
    }

    /** 8-bit planes to normalised float NCHW (batch 1): {@code (v / 255 - mean[c]) / std[c]}. */
    static float[] normalize8(int[][] planes) {
        int n = planes[0].length;
        float[] out = new float[3 * n];
        for (int c = 0; c < 3; c++) {
            float m = VqVaeConfig.PIXEL_MEAN[c];
            float s = VqVaeConfig.PIXEL_STD[c];
            for (int i = 0; i < n; i++) {
                out[c * n + i] = (planes[c][i] / 255f - m) / s;
            }
        }
        return out;
    }

    /** [N, 3, H, W] values in [0, 1] to normalised values (a new array). */
    static float[] normalize(float[] rgb, int batch, int plane) {
        float[] out = new float[rgb.length];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < 3; c++) {
                float m = VqVaeConfig.PIXEL_MEAN[c];
                float s = VqVaeConfig.PIXEL_STD[c];
                int off = (b * 3 + c) * plane;
                for (int i = 0; i < plane; i++) {
                    out[off + i] = (rgb[off + i] - m) / s;
                }
            }
        }
        return out;
    }

    /** In place: normalised [N, 3, H, W] back to pixel values, {@code x * std[c] + mean[c]} (not clamped). */
    static void denormalizeInPlace(float[] x, int batch, int plane) {
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < 3; c++) {
                float m = VqVaeConfig.PIXEL_MEAN[c];
                float s = VqVaeConfig.PIXEL_STD[c];
                int off = (b * 3 + c) * plane;
                for (int i = 0; i < plane; i++) {
                    x[off + i] = x[off + i] * s + m;
                }
            }
        }
    }

    /**
     * One [3, H, W] image of pixel values to an RGB picture: clamped to [0, 1], then {@code floor(v * 255 + 0.5)}
     * as {@code torchvision.utils.save_image}.
     */
    static BufferedImage toImage(float[] x, int offset, int h, int w) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        int[] rgb = new int[plane];
        for (int i = 0; i < plane; i++) {
            int r = to8(x[offset + i]);
            int g = to8(x[offset + plane + i]);
            int b = to8(x[offset + 2 * plane + i]);
            rgb[i] = (r << 16) | (g << 8) | b;
        }
        img.setRGB(0, 0, w, h, rgb, 0, w);
        return img;
    }

    static int to8(float v) {
        float c = Float.isNaN(v) ? 0f : Math.max(0f, Math.min(1f, v));
        return (int) Math.floor(c * 255f + 0.5f);
    }
}
