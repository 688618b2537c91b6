package io.cogvideo.testkit;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.LocalAttentionSpec;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.TrainingOps;
import io.cogvideo.training.HostTrainingOps;
import io.cogvideo.training.HostVqVaeTrainingOps;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.VqVaeTrainingOps;
import io.cogvideo.spi.WeightUse;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * A plain-Java reference backend for tests: small, obviously correct and slow. Tensors are row-major {@code float[]}
 * arrays on the heap; every operation is the literal loop of its definition in the SPI's javadoc, with sums
 * accumulated in {@code double}. Weights are widened to float32 exactly ({@link TensorData#toFloatArray}) and kept
 * in their checkpoint layout whatever their {@link WeightUse}; key/value caches are float32 only.
 *
 * <p>It implements the primitive {@link Backend} and the op packs {@link FusedAttention}, {@link LocalAttention} and
 * {@link VqVaeOps}, and offers the core's plain-Java {@link TrainingOps} and {@link VqVaeTrainingOps};
 * {@link #without} leaves chosen packs out, for capability tests.
 *
 * <p>As every backend, it contains no argument validation: wrap it in {@link io.cogvideo.spi.CheckedBackend}
 * ({@code CheckedBackend.wrap(new ReferenceBackend(), true)}), which checks every call before it gets here.
 *
 * <p>The class implements the pack interfaces itself; {@link #find} alone says which packs this instance offers.
 * Every call runs on the calling thread without internal parallelism and keeps no state between calls (apart from the
 * transpose a linear weight keeps, see {@link HostTensor}), so calls on distinct tensors may run concurrently.
 * Meant for tests only.
 */
public final class ReferenceBackend implements Backend, FusedAttention, LocalAttention, VqVaeOps {
    /** The backend's {@link #name()}. */
    public static final String NAME = "reference";

    private final Set<Class<? extends OpPack>> packs;

    /** A reference backend with every op pack. */
    public ReferenceBackend() {
        this(Set.copyOf(OpPacks.known()));
    }

    private ReferenceBackend(Set<Class<? extends OpPack>> packs) {
        this.packs = Set.copyOf(packs);
    }

    /**
     * A reference backend without the given op packs ({@link #find} reports them missing), for capability tests.
     *
     * @throws CogVideoException if a class is not one of the packs this backend implements
     */
    @SafeVarargs
    public static ReferenceBackend without(Class<? extends OpPack>... leftOut) {
        Set<Class<? extends OpPack>> keep = new LinkedHashSet<>(OpPacks.known());
        for (Class<? extends OpPack> p : leftOut) {
            if (!keep.remove(p)) {
                throw new CogVideoException("the reference backend has no op pack " + p.getName() + " to leave out; "
                        + "its packs are " + OpPacks.known());
            }
        }
        return new ReferenceBackend(keep);
    }

    // ---------------------------------------------------------------- tensors

    /** A float32 host tensor. {@link #close} drops the values (using it afterwards is a caller bug). */
    static final class HostTensor implements Tensor {
        private final int[] shape;
        float[] values; // row-major, length numel(shape); null once closed
        /** The [in, out] transpose of a rank-2 tensor used as a linear weight, made on first use; reset by writes. */
        private volatile float[] transposed;

        HostTensor(float[] values, int[] shape) {
            this.values = values;
            this.shape = shape.clone();
        }

        float[] transposed() {
            float[] t = transposed;
            if (t == null) {
                int rows = shape[0];
                int cols = shape[1];
                t = new float[values.length];
                for (int c = 0; c < cols; c++) {
                    for (int r = 0; r < rows; r++) {
                        t[c * rows + r] = values[r * cols + c];
                    }
                }
                transposed = t;
            }
            return t;
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        @Override
        public DType dtype() {
            return DType.FLOAT32;
        }

        @Override
        public void close() {
            values = null;
            transposed = null;
        }

        @Override
        public String toString() {
            return "reference FLOAT32" + Arrays.toString(shape);
        }
    }

    private static HostTensor host(Tensor t) {
        return (HostTensor) t;
    }

    private static float[] v(Tensor t) {
        return host(t).values;
    }

    private static HostTensor make(float[] values, int... shape) {
        return new HostTensor(values, shape);
    }

    /** Elements of the dimensions before {@code axis}. */
    private static int outer(int[] shape, int axis) {
        int n = 1;
        for (int i = 0; i < axis; i++) {
            n *= shape[i];
        }
        return n;
    }

    /** Elements of the dimensions after {@code axis}. */
    private static int inner(int[] shape, int axis) {
        int n = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            n *= shape[i];
        }
        return n;
    }

    /**
     * {@code sum a[ao + i] * b[bo + i]} over {@code i < n}, in double. Four partial sums (i mod 4) only so that the
     * additions do not wait on each other; the result is the same sum up to double rounding.
     */
    static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += (double) a[ao + i] * b[bo + i];
            s1 += (double) a[ao + i + 1] * b[bo + i + 1];
            s2 += (double) a[ao + i + 2] * b[bo + i + 2];
            s3 += (double) a[ao + i + 3] * b[bo + i + 3];
        }
        for (; i < n; i++) {
            s0 += (double) a[ao + i] * b[bo + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    // ---------------------------------------------------------------- primitive layer

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "reference: plain Java float[] on the heap, double accumulation, one thread, packs "
                + OpPacks.known().stream().filter(packs::contains).map(Class::getSimpleName).toList()
                + " (tests only)";
    }

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        return make(values.clone(), shape);
    }

    @Override
    public Tensor upload(TensorData data, WeightUse use) {
        // the use is only a layout hint: the reference keeps every weight as stored, [out, in] for linear weights
        return make(data.toFloatArray(), data.shape());
    }

    @Override
    public Tensor cache(DType dtype, int... shape) {
        if (dtype == DType.FLOAT64) {
            throw new CogVideoException("the reference backend holds key/value caches as FLOAT32 (half types widened "
                    + "to it), not FLOAT64");
        }
        return make(new float[Math.toIntExact(TensorData.numel(shape))], shape);
    }

    @Override
    public float[] toFloats(Tensor t) {
        return v(t).clone();
    }

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        float[] tab = v(table);
        int h = table.dim(1);
        int n = rows.length / batch;
        float[] out = new float[rows.length * h];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(tab, rows[i] * h, out, i * h, h);
        }
        return make(out, batch, n, h);
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        int[] s = x.shape();
        int in = s[2];
        int outCols = weight.dim(0);
        int rows = s[0] * s[1];
        float[] xs = v(x);
        // out[r, o] = bias[o] + sum_i x[r, i] * weight[o, i], summed over i in order, in double; the weight is read
        // through its [in, out] transpose so that the loop over o runs along contiguous memory
        float[] wt = host(weight).transposed();
        float[] b = bias == null ? null : v(bias);
        float[] out = new float[rows * outCols];
        int block = Math.min(outCols, 1024); // outputs per pass: that slice of the transpose is reused by every row
        double[] acc = new double[block];
        for (int o0 = 0; o0 < outCols; o0 += block) {
            int len = Math.min(block, outCols - o0);
            for (int r = 0; r < rows; r++) {
                for (int t = 0; t < len; t++) {
                    acc[t] = b == null ? 0 : b[o0 + t];
                }
                for (int i = 0; i < in; i++) {
                    double xi = xs[r * in + i];
                    int wo = i * outCols + o0;
                    for (int t = 0; t < len; t++) {
                        acc[t] += xi * wt[wo + t];
                    }
                }
                for (int t = 0; t < len; t++) {
                    out[r * outCols + o0 + t] = (float) acc[t];
                }
            }
        }
        return make(out, s[0], s[1], outCols);
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        float[] xs = v(x);
        float[] g = v(gamma);
        float[] be = v(beta);
        int h = x.dim(-1);
        float[] out = new float[xs.length];
        for (int r = 0; r < xs.length / h; r++) {
            double mean = 0;
            for (int i = 0; i < h; i++) {
                mean += xs[r * h + i];
            }
            mean /= h;
            double var = 0;
            for (int i = 0; i < h; i++) {
                double d = xs[r * h + i] - mean;
                var += d * d;
            }
            var /= h; // biased, as torch.nn.LayerNorm
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < h; i++) {
                out[r * h + i] = (float) ((xs[r * h + i] - mean) * inv * g[i] + be[i]);
            }
        }
        return make(out, x.shape());
    }

    @Override
    public Tensor gelu(Tensor x) {
        float[] xs = v(x);
        float[] out = new float[xs.length];
        double c = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < xs.length; i++) {
            double a = xs[i];
            out[i] = (float) (0.5 * a * (1 + Math.tanh(c * (a + 0.044715 * a * a * a))));
        }
        return make(out, x.shape());
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        float[] as = v(a);
        float[] bs = v(b);
        float[] out = new float[as.length];
        int perBatch = as.length / a.dim(0);
        boolean broadcast = b.dim(0) == 1 && a.dim(0) != 1;
        for (int i = 0; i < as.length; i++) {
            out[i] = as[i] + bs[broadcast ? i % perBatch : i];
        }
        return make(out, a.shape());
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        int[] s = x.shape();
        int outer = outer(s, axis);
        int inner = inner(s, axis);
        float[] xs = v(x);
        float[] out = new float[outer * length * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(xs, (o * s[axis] + start) * inner, out, o * length * inner, length * inner);
        }
        int[] os = s.clone();
        os[axis] = length;
        return make(out, os);
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        int[] s = parts[0].shape();
        int total = 0;
        for (Tensor p : parts) {
            total += p.dim(axis);
        }
        int outer = outer(s, axis);
        int inner = inner(s, axis);
        float[] out = new float[outer * total * inner];
        int offset = 0;
        for (Tensor p : parts) {
            int len = p.dim(axis);
            float[] ps = v(p);
            for (int o = 0; o < outer; o++) {
                System.arraycopy(ps, o * len * inner, out, (o * total + offset) * inner, len * inner);
            }
            offset += len;
        }
        int[] os = s.clone();
        os[axis] = total;
        return make(out, os);
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        int[] d = dst.shape();
        int len = src.dim(axis);
        int outer = outer(d, axis);
        int inner = inner(d, axis);
        host(dst).transposed = null; // the values change: a transpose made for linear is stale
        float[] ds = v(dst);
        float[] ss = v(src);
        for (int o = 0; o < outer; o++) {
            System.arraycopy(ss, o * len * inner, ds, (o * d[axis] + offset) * inner, len * inner);
        }
    }

    @Override
    public <P extends OpPack> Optional<P> find(Class<P> pack) {
        if (!packs.contains(pack)) {
            return Optional.empty();
        }
        // training: the core's plain-Java pack over this backend's tensors; the others this class implements itself
        return pack == TrainingOps.class ? HostTrainingOps.offer(this, pack)
                : pack == VqVaeTrainingOps.class ? HostVqVaeTrainingOps.offer(this, pack)
                : Optional.of(pack.cast(this));
    }

    @Override
    public void close() {
        // nothing to release: tensors are heap arrays
    }

    @Override
    public String toString() {
        return description();
    }

    // ---------------------------------------------------------------- FusedAttention

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int keyLength, AttentionMask mask) {
        int batch = q.dim(0);
        int nq = q.dim(1);
        int width = q.dim(2);
        int kRows = k.dim(1);
        int heads = mask.heads();
        int d = width / heads;
        double scale = 1 / Math.sqrt(d);
        float[] qs = v(q);
        float[] ks = v(k);
        float[] vs = v(v);
        float[] out = new float[batch * nq * width];
        int[] keys = new int[keyLength];
        double[] p = new double[heads * keyLength]; // p[h * visible + c]: head h, c-th visible key
        double[] sum = new double[heads];
        double[] acc = new double[width];
        for (int i = 0; i < nq; i++) {
            int visible = 0;
            for (int j = 0; j < keyLength; j++) {
                if (mask.visible(i, j)) { // the mask's own definition, pair by pair
                    keys[visible++] = j;
                }
            }
            if (visible == 0) {
                continue; // a query that sees no key gets zeros
            }
            for (int b = 0; b < batch; b++) {
                int qo = (b * nq + i) * width;
                // scores q·k / sqrt(d) (+ the text boost on text keys), every head of a key row in one visit
                for (int c = 0; c < visible; c++) {
                    int j = keys[c];
                    int ko = (b * kRows + j) * width;
                    double boost = j < mask.textLength() ? mask.textBoost() : 0;
                    for (int h = 0; h < heads; h++) {
                        p[h * visible + c] = dot(qs, qo + h * d, ks, ko + h * d, d) * scale + boost;
                    }
                }
                // softmax numerators per head, shifted by the head's largest score
                for (int h = 0; h < heads; h++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < visible; c++) {
                        max = Math.max(max, p[h * visible + c]);
                    }
                    double s = 0;
                    for (int c = 0; c < visible; c++) {
                        double e = Math.exp(p[h * visible + c] - max);
                        p[h * visible + c] = e;
                        s += e;
                    }
                    sum[h] = s;
                }
                // weighted sum of the value rows, every head of a value row in one visit, normalised at the end
                java.util.Arrays.fill(acc, 0);
                for (int c = 0; c < visible; c++) {
                    int vo = (b * kRows + keys[c]) * width;
                    for (int h = 0; h < heads; h++) {
                        double e = p[h * visible + c];
                        for (int t = h * d; t < (h + 1) * d; t++) {
                            acc[t] += e * vs[vo + t];
                        }
                    }
                }
                for (int t = 0; t < width; t++) {
                    out[qo + t] = (float) (acc[t] / sum[t / d]);
                }
            }
        }
        return make(out, batch, nq, width);
    }

    @Override
    public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
        float[] bs = v(base);
        float[] ps = v(plus);
        float[] m = v(mixLogits);
        int h = m.length;
        float[] out = new float[bs.length];
        for (int i = 0; i < bs.length; i++) {
            double a = 1 / (1 + Math.exp(-(double) m[i % h]));
            out[i] = (float) (a * bs[i] + (1 - a) * ps[i]);
        }
        return make(out, base.shape());
    }

    // ---------------------------------------------------------------- LocalAttention

    @Override
    public Tensor localAttention(Tensor q, Tensor kFine, Tensor vFine, Tensor kCoarse, Tensor vCoarse,
            LocalAttentionSpec spec) {
        int batch = q.dim(0);
        int width = q.dim(2);
        int heads = spec.heads();
        int d = width / heads;
        int fg = spec.fineGrid();
        int cg = spec.coarseGrid();
        double scale = 1 / Math.sqrt(d);
        float[] qs = v(q);
        float[] kf = v(kFine);
        float[] vf = v(vFine);
        float[] kc = v(kCoarse);
        float[] vc = v(vCoarse);
        float[] out = new float[qs.length];
        // one softmax over the coarse neighbourhood followed by the fine one: key (raster, cell) pairs
        int most = spec.coarseKernelH() * spec.coarseKernelW() + spec.fineKernelH() * spec.fineKernelW();
        float[][] keyRaster = new float[most][];
        float[][] valueRaster = new float[most][];
        int[] keyRow = new int[most];
        int[] rasterRows = new int[most];
        double[] boost = new double[most];
        double[] p = new double[most];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < fg; i++) {
                for (int j = 0; j < fg; j++) {
                    int n = 0;
                    // coarse neighbourhood, centred on the query's coarse cell
                    int ci = i * cg / fg;
                    int cj = j * cg / fg;
                    for (int r = ci - spec.coarseKernelH() / 2; r <= ci + spec.coarseKernelH() / 2; r++) {
                        for (int c = cj - spec.coarseKernelW() / 2; c <= cj + spec.coarseKernelW() / 2; c++) {
                            if (r >= 0 && r < cg && c >= 0 && c < cg) {
                                keyRaster[n] = kc;
                                valueRaster[n] = vc;
                                keyRow[n] = r * cg + c;
                                rasterRows[n] = cg * cg;
                                boost[n] = spec.coarseBoost();
                                n++;
                            }
                        }
                    }
                    // fine neighbourhood, centred on the query's own cell
                    for (int r = i - spec.fineKernelH() / 2; r <= i + spec.fineKernelH() / 2; r++) {
                        for (int c = j - spec.fineKernelW() / 2; c <= j + spec.fineKernelW() / 2; c++) {
                            if (r >= 0 && r < fg && c >= 0 && c < fg) {
                                keyRaster[n] = kf;
                                valueRaster[n] = vf;
                                keyRow[n] = r * fg + c;
                                rasterRows[n] = fg * fg;
                                boost[n] = 0;
                                n++;
                            }
                        }
                    }
                    int qRow = b * fg * fg + i * fg + j;
                    for (int h = 0; h < heads; h++) {
                        int qo = qRow * width + h * d;
                        double max = Double.NEGATIVE_INFINITY;
                        for (int t = 0; t < n; t++) {
                            int ko = (b * rasterRows[t] + keyRow[t]) * width + h * d;
                            p[t] = dot(qs, qo, keyRaster[t], ko, d) * scale + boost[t];
                            max = Math.max(max, p[t]);
                        }
                        double sum = 0;
                        for (int t = 0; t < n; t++) {
                            p[t] = Math.exp(p[t] - max);
                            sum += p[t];
                        }
                        for (int e = 0; e < d; e++) {
                            double acc = 0;
                            for (int t = 0; t < n; t++) {
                                acc += p[t] * valueRaster[t][(b * rasterRows[t] + keyRow[t]) * width + h * d + e];
                            }
                            out[qo + e] = (float) (acc / sum);
                        }
                    }
                }
            }
        }
        return make(out, q.shape());
    }

    // ---------------------------------------------------------------- VqVaeOps

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padTop, int padBottom, int padLeft,
            int padRight) {
        int n = x.dim(0);
        int c = x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        int o = weight.dim(0);
        int kh = weight.dim(2);
        int kw = weight.dim(3);
        int ho = (h + padTop + padBottom - kh) / stride + 1;
        int wo = (w + padLeft + padRight - kw) / stride + 1;
        float[] xs = v(x);
        float[] ws = v(weight);
        float[] bs = bias == null ? null : v(bias);
        float[] out = new float[n * o * ho * wo];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < o; oc++) {
                for (int oy = 0; oy < ho; oy++) {
                    for (int ox = 0; ox < wo; ox++) {
                        double acc = bs == null ? 0 : bs[oc];
                        for (int ic = 0; ic < c; ic++) {
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * stride + ky - padTop;
                                if (iy < 0 || iy >= h) {
                                    continue; // zero padding
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * stride + kx - padLeft;
                                    if (ix < 0 || ix >= w) {
                                        continue;
                                    }
                                    acc += (double) xs[((b * c + ic) * h + iy) * w + ix]
                                            * ws[((oc * c + ic) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        out[((b * o + oc) * ho + oy) * wo + ox] = (float) acc;
                    }
                }
            }
        }
        return make(out, n, o, ho, wo);
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        int n = x.dim(0);
        int c = x.dim(1);
        int hw = x.dim(2) * x.dim(3);
        int perGroup = c / groups;
        float[] xs = v(x);
        float[] g = v(gamma);
        float[] be = v(beta);
        float[] out = new float[xs.length];
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < groups; gi++) {
                int from = (b * c + gi * perGroup) * hw;
                int count = perGroup * hw;
                double mean = 0;
                for (int i = 0; i < count; i++) {
                    mean += xs[from + i];
                }
                mean /= count;
                double var = 0;
                for (int i = 0; i < count; i++) {
                    double dv = xs[from + i] - mean;
                    var += dv * dv;
                }
                var /= count; // biased, as torch.nn.GroupNorm
                double inv = 1 / Math.sqrt(var + eps);
                for (int i = 0; i < count; i++) {
                    int ch = gi * perGroup + i / hw;
                    out[from + i] = (float) ((xs[from + i] - mean) * inv * g[ch] + be[ch]);
                }
            }
        }
        return make(out, x.shape());
    }

    @Override
    public Tensor swish(Tensor x) {
        float[] xs = v(x);
        float[] out = new float[xs.length];
        for (int i = 0; i < xs.length; i++) {
            out[i] = (float) (xs[i] / (1 + Math.exp(-(double) xs[i])));
        }
        return make(out, x.shape());
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        int n = x.dim(0);
        int c = x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        float[] xs = v(x);
        float[] out = new float[n * c * 4 * h * w];
        for (int p = 0; p < n * c; p++) {
            for (int y = 0; y < 2 * h; y++) {
                for (int xx = 0; xx < 2 * w; xx++) {
                    out[(p * 2 * h + y) * 2 * w + xx] = xs[(p * h + y / 2) * w + xx / 2];
                }
            }
        }
        return make(out, n, c, 2 * h, 2 * w);
    }

    @Override
    public Tensor avgPool2x2(Tensor x) {
        int n = x.dim(0);
        int c = x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        int ho = h / 2;
        int wo = w / 2;
        float[] xs = v(x);
        float[] out = new float[n * c * ho * wo];
        for (int p = 0; p < n * c; p++) {
            for (int y = 0; y < ho; y++) {
                for (int xx = 0; xx < wo; xx++) {
                    double s = 0;
                    for (int dy = 0; dy < 2; dy++) {
                        for (int dx = 0; dx < 2; dx++) {
                            s += xs[(p * h + 2 * y + dy) * w + 2 * xx + dx];
                        }
                    }
                    out[(p * ho + y) * wo + xx] = (float) (s / 4);
                }
            }
        }
        return make(out, n, c, ho, wo);
    }

    @Override
    public Tensor spatialAttention(Tensor q, Tensor k, Tensor v) {
        int n = q.dim(0);
        int c = q.dim(1);
        int positions = q.dim(2) * q.dim(3);
        float[] qs = v(q);
        float[] ks = v(k);
        float[] vs = v(v);
        float[] out = new float[qs.length];
        double scale = 1 / Math.sqrt(c);
        double[] p = new double[positions];
        for (int b = 0; b < n; b++) {
            int base = b * c * positions;
            for (int i = 0; i < positions; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < positions; j++) {
                    double s = 0;
                    for (int ch = 0; ch < c; ch++) {
                        s += (double) qs[base + ch * positions + i] * ks[base + ch * positions + j];
                    }
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < positions; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int ch = 0; ch < c; ch++) {
                    double acc = 0;
                    for (int j = 0; j < positions; j++) {
                        acc += p[j] * vs[base + ch * positions + j];
                    }
                    out[base + ch * positions + i] = (float) (acc / sum);
                }
            }
        }
        return make(out, q.shape());
    }

    @Override
    public int[] codebookNearest(Tensor z, Tensor codebook) {
        int n = z.dim(0);
        int dims = z.dim(1);
        int hw = z.dim(2) * z.dim(3);
        int entries = codebook.dim(0);
        float[] zs = v(z);
        float[] e = v(codebook);
        double[] normE = new double[entries];
        for (int k = 0; k < entries; k++) {
            for (int i = 0; i < dims; i++) {
                normE[k] += (double) e[k * dims + i] * e[k * dims + i];
            }
        }
        int[] ids = new int[n * hw];
        for (int b = 0; b < n; b++) {
            for (int p = 0; p < hw; p++) {
                double normZ = 0;
                for (int i = 0; i < dims; i++) {
                    double zi = zs[(b * dims + i) * hw + p];
                    normZ += zi * zi;
                }
                int best = 0;
                double bestDistance = Double.POSITIVE_INFINITY;
                for (int k = 0; k < entries; k++) {
                    double dot = 0;
                    for (int i = 0; i < dims; i++) {
                        dot += zs[(b * dims + i) * hw + p] * (double) e[k * dims + i];
                    }
                    double distance = normZ - 2 * dot + normE[k];
                    if (distance < bestDistance) { // strict: ties keep the lowest index, as torch.argmin
                        bestDistance = distance;
                        best = k;
                    }
                }
                ids[b * hw + p] = best;
            }
        }
        return ids;
    }

    @Override
    public Tensor codebookLookup(Tensor codebook, int[] ids, int batch, int height, int width) {
        int dims = codebook.dim(1);
        float[] e = v(codebook);
        int hw = height * width;
        float[] out = new float[batch * dims * hw];
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < hw; p++) {
                int id = ids[b * hw + p];
                for (int i = 0; i < dims; i++) {
                    out[(b * dims + i) * hw + p] = e[id * dims + i];
                }
            }
        }
        return make(out, batch, dims, height, width);
    }
}
