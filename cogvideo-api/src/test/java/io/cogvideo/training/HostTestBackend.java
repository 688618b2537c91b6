package io.cogvideo.training;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.WeightUse;
import java.util.Optional;

/**
 * A minimal float[] backend for the training tests of the api module: primitives and {@link FusedAttention} on
 * host arrays (computed with {@link TrainingKernels} in double, stored as float32), and {@link HostTrainingOps} as
 * its training pack through {@link HostTrainingOps#offer}. Tests wrap it in a {@link io.cogvideo.spi.CheckedBackend}.
 */
public final class HostTestBackend implements Backend, FusedAttention {
    private final boolean training;

    /** With the training pack. */
    public HostTestBackend() {
        this(true);
    }

    /** With or without the training pack (without: as a backend that does not opt in, like CUDA). */
    public HostTestBackend(boolean training) {
        this.training = training;
    }

    /** A row-major float32 tensor. */
    static final class HostTensor implements Tensor {
        final float[] data;
        final int[] shape;

        HostTensor(float[] data, int[] shape) {
            this.data = data;
            this.shape = shape.clone();
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
        }
    }

    private static HostTensor t(Tensor t) {
        return (HostTensor) t;
    }

    private static double[] d(Tensor t) {
        return TrainingKernels.widen(t(t).data);
    }

    private static HostTensor of(double[] v, int... shape) {
        return new HostTensor(TrainingKernels.narrow(v), shape);
    }

    private static int rows(Tensor x) {
        int[] s = x.shape();
        int r = 1;
        for (int i = 0; i < s.length - 1; i++) {
            r *= s[i];
        }
        return r;
    }

    @Override
    public String name() {
        return "host-test";
    }

    @Override
    public String description() {
        return "host-test: float32 arrays, double-precision kernels (tests only)";
    }

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        return new HostTensor(values.clone(), shape);
    }

    @Override
    public Tensor upload(TensorData data, WeightUse use) {
        return new HostTensor(data.toFloatArray(), data.shape());
    }

    @Override
    public Tensor cache(DType dtype, int... shape) {
        return new HostTensor(new float[(int) TensorData.numel(shape)], shape);
    }

    @Override
    public float[] toFloats(Tensor x) {
        return t(x).data.clone();
    }

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        int h = table.dim(1);
        return of(TrainingKernels.gatherRows(d(table), h, rows), batch, rows.length / batch, h);
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        int in = weight.dim(1);
        int out = weight.dim(0);
        double[] y = TrainingKernels.linear(d(x), rows(x), in, d(weight), out, bias == null ? null : d(bias));
        return of(y, x.dim(0), x.dim(1), out);
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int h = x.dim(-1);
        return of(TrainingKernels.layerNorm(d(x), rows(x), h, d(gamma), d(beta), eps), x.shape());
    }

    @Override
    public Tensor gelu(Tensor x) {
        return of(TrainingKernels.gelu(d(x)), x.shape());
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        float[] x = t(a).data;
        float[] y = t(b).data;
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] + y[i % y.length];
        }
        return new HostTensor(out, a.shape());
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        int[] s = x.shape();
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= s[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < s.length; i++) {
            inner *= s[i];
        }
        float[] src = t(x).data;
        float[] out = new float[outer * length * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(src, (o * s[axis] + start) * inner, out, o * length * inner, length * inner);
        }
        int[] ns = s.clone();
        ns[axis] = length;
        return new HostTensor(out, ns);
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        int[] s = parts[0].shape();
        int total = 0;
        for (Tensor p : parts) {
            total += p.dim(axis);
        }
        int[] ns = s.clone();
        ns[axis] = total;
        HostTensor out = new HostTensor(new float[(int) TensorData.numel(ns)], ns);
        int offset = 0;
        for (Tensor p : parts) {
            write(out, axis, offset, p);
            offset += p.dim(axis);
        }
        return out;
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        int[] s = dst.shape();
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= s[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < s.length; i++) {
            inner *= s[i];
        }
        int len = src.dim(axis);
        float[] from = t(src).data;
        float[] to = t(dst).data;
        for (int o = 0; o < outer; o++) {
            System.arraycopy(from, o * len * inner, to, (o * s[axis] + offset) * inner, len * inner);
        }
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, int keyLength, AttentionMask mask) {
        Tensor kk = keyLength == k.dim(1) ? k : slice(k, 1, 0, keyLength);
        Tensor vv = keyLength == v.dim(1) ? v : slice(v, 1, 0, keyLength);
        TrainingKernels.AttentionShape s = new TrainingKernels.AttentionShape(q.dim(0), q.dim(1), keyLength,
                mask.heads(), q.dim(2) / mask.heads());
        double[] out = new double[q.dim(0) * q.dim(1) * q.dim(2)];
        double[] lse = new double[s.batch() * s.heads() * s.nq()];
        TrainingKernels.attentionForward(d(q), d(kk), d(vv), s, mask,
                TrainingKernels.visibleKeys(mask, s.nq(), s.nk()), 0, 0, out, lse);
        return of(out, q.shape());
    }

    @Override
    public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
        return of(TrainingKernels.channelMix(d(base), d(plus), d(mixLogits), base.dim(-1)), base.shape());
    }

    @Override
    @SuppressWarnings("unchecked")
    public <P extends OpPack> Optional<P> find(Class<P> pack) {
        if (pack == FusedAttention.class) {
            return Optional.of((P) this);
        }
        return training ? HostTrainingOps.offer(this, pack) : Optional.empty();
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "HostTestBackend";
    }
}
