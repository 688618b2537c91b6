package io.cogvideo.backend.cuda;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.AttentionMask.Scope;
import io.cogvideo.spi.Half;
import java.util.Random;

/** Plain references (double precision, straight from the definitions) and random inputs for the kernel tests. */
final class Reference {
    private Reference() {
    }

    /** An attention problem: the mask, shapes, and which key rows are valid. */
    record Case(AttentionMask mask, int batch, int nq, int kRows, int keyLength, int headDim) {
        int width() {
            return mask.heads() * headDim;
        }

        @Override
        public String toString() {
            return "batch " + batch + ", nq " + nq + ", kRows " + kRows + ", keyLength " + keyLength + ", d "
                    + headDim + ", " + mask;
        }
    }

    static final int[] GRIDS = {2, 3, 4, 5, 6, 8, 10, 20};

    /** A random valid mask (any combination of the fields the record accepts) with a matching problem size. */
    static Case randomCase(Random r, int maxKeys, boolean decode, int[] headDims) {
        int grid;
        int frames;
        do {
            grid = GRIDS[r.nextInt(GRIDS.length)];
            frames = 1 + r.nextInt(5);
        } while ((long) grid * grid * frames > maxKeys);
        int frameLength = grid * grid;
        Scope scope = Scope.values()[r.nextInt(3)];
        int windowSize = 0;
        int shift = 0;
        boolean wrap = false;
        if (scope == Scope.WINDOW) {
            final int g = grid;
            int[] divisors = java.util.stream.IntStream.rangeClosed(1, g).filter(w -> g % w == 0).toArray();
            windowSize = divisors[r.nextInt(divisors.length)];
            shift = windowSize % 2 == 0 && r.nextBoolean() ? windowSize / 2 : 0;
            wrap = r.nextBoolean();
        }
        int text = r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(12);
        int padding = text == 0 || r.nextInt(3) != 0 ? 0 : r.nextInt(text + 1);
        float boost = r.nextBoolean() ? 0f : (float) (r.nextGaussian() * 1.5);
        int framePositions = frames * frameLength;
        boolean queriesText = !decode && r.nextBoolean();
        int keyFrameStart = r.nextInt(3) == 0 ? r.nextInt(framePositions) : 0;
        int queryFrameStart = r.nextInt(3) == 0 ? r.nextInt(framePositions) : 0;
        int heads = 1 + r.nextInt(3);
        int d = headDims[r.nextInt(headDims.length)];
        int frameKeys = r.nextInt(framePositions + 1);
        int keyLength = text + frameKeys;
        int kRows = keyLength + r.nextInt(3) * r.nextInt(9); // sometimes a longer cache than its valid part
        int nq;
        if (decode) {
            nq = 1 + r.nextInt(LaunchGeometry.DECODE_MAX_ROWS);
            if (r.nextBoolean()) {
                queryFrameStart = Math.max(0, keyFrameStart + frameKeys - 1); // the cached step: the last key is "self"
            }
        } else {
            nq = LaunchGeometry.DECODE_MAX_ROWS + 1 + r.nextInt(Math.max(1, Math.min(maxKeys, framePositions)));
            if (queriesText) {
                nq += text;
            }
        }
        AttentionMask m = new AttentionMask(heads, text, padding, boost, queriesText, queryFrameStart, keyFrameStart,
                frameLength, grid, scope, r.nextBoolean(), windowSize, shift, wrap);
        int batch = 1 + r.nextInt(2);
        return new Case(m, batch, nq, kRows, keyLength, d);
    }

    static float[] gaussian(Random r, int n, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextGaussian() * scale);
        }
        return f;
    }

    /** Rounds to the element type {@code type} (round to nearest even) and back. */
    static float round(float x, DeviceType type) {
        return switch (type) {
            case F32 -> x;
            case F16 -> Half.toFloat(Half.fromFloat(x));
            case BF16 -> bf16(x);
        };
    }

    static float[] round(float[] x, DeviceType type) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = round(x[i], type);
        }
        return y;
    }

    static float bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) {
            return x;
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7fff + lsb;
        return Float.intBitsToFloat(rounded & 0xffff0000);
    }

    /**
     * {@code softmax(q kᵀ / sqrt(d) + boost, masked) · v} per batch entry, row and head, in double, over the first
     * {@code keyLength} of {@code kRows} key rows. A row that sees no key gives 0 (the kernels' convention).
     */
    static float[] attention(float[] q, float[] k, float[] v, Case c) {
        AttentionMask m = c.mask();
        int heads = m.heads();
        int d = c.headDim();
        int width = c.width();
        double scale = 1.0 / Math.sqrt(d);
        float[] out = new float[c.batch() * c.nq() * width];
        double[] s = new double[c.keyLength()];
        for (int b = 0; b < c.batch(); b++) {
            for (int qi = 0; qi < c.nq(); qi++) {
                for (int h = 0; h < heads; h++) {
                    int qo = (b * c.nq() + qi) * width + h * d;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int kj = 0; kj < c.keyLength(); kj++) {
                        if (!m.visible(qi, kj)) {
                            s[kj] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        int ko = (b * c.kRows() + kj) * width + h * d;
                        double dot = 0;
                        for (int j = 0; j < d; j++) {
                            dot += (double) q[qo + j] * k[ko + j];
                        }
                        s[kj] = dot * scale + (kj < m.textLength() ? m.textBoost() : 0);
                        max = Math.max(max, s[kj]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) {
                        continue;
                    }
                    double sum = 0;
                    double[] acc = new double[d];
                    for (int kj = 0; kj < c.keyLength(); kj++) {
                        if (s[kj] == Double.NEGATIVE_INFINITY) {
                            continue;
                        }
                        double p = Math.exp(s[kj] - max);
                        sum += p;
                        int vo = (b * c.kRows() + kj) * width + h * d;
                        for (int j = 0; j < d; j++) {
                            acc[j] += p * v[vo + j];
                        }
                    }
                    for (int j = 0; j < d; j++) {
                        out[qo + j] = (float) (acc[j] / sum);
                    }
                }
            }
        }
        return out;
    }

    /** ‖a − b‖₂ / max(‖b‖₂, tiny); NaN anywhere gives +inf. */
    static double relativeError(float[] a, float[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.isNaN(a[i]) || Float.isNaN(b[i])) {
                return Double.POSITIVE_INFINITY;
            }
            double dlt = (double) a[i] - b[i];
            num += dlt * dlt;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
    }

    static double maxAbsError(float[] a, float[] b) {
        double w = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.isNaN(a[i]) || Float.isNaN(b[i])) {
                return Double.POSITIVE_INFINITY;
            }
            w = Math.max(w, Math.abs((double) a[i] - b[i]));
        }
        return w;
    }

    static float[] layerNorm(float[] x, int h, float[] g, float[] b, float eps) {
        float[] y = new float[x.length];
        for (int r = 0; r < x.length / h; r++) {
            double mean = 0;
            for (int i = 0; i < h; i++) {
                mean += x[r * h + i];
            }
            mean /= h;
            double var = 0;
            for (int i = 0; i < h; i++) {
                double c = x[r * h + i] - mean;
                var += c * c;
            }
            var /= h;
            double inv = 1.0 / Math.sqrt(var + eps);
            for (int i = 0; i < h; i++) {
                y[r * h + i] = (float) ((x[r * h + i] - mean) * inv * g[i] + b[i]);
            }
        }
        return y;
    }

    static float gelu(float x) {
        return (float) (0.5 * x * (1.0 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }

    static float sigmoid(float a) {
        return (float) (1.0 / (1.0 + Math.exp(-a)));
    }
}
