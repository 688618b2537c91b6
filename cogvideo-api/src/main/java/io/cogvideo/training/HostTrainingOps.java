package io.cogvideo.training;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TrainingOps;
import java.util.Optional;

/**
 * The plain-Java {@link TrainingOps} for any backend: it copies its inputs to the host with
 * {@link Backend#toFloats}, runs {@link TrainingKernels} in double precision, and hands the results back with
 * {@link Backend#fromFloats} (rounded to float32). Correct everywhere and fast enough for small models; a backend
 * with its own kernels offers a faster pack instead.
 *
 * <p>A backend opts in by returning it from {@code find}:
 * <pre>{@code
 * public <P extends OpPack> Optional<P> find(Class<P> pack) {
 *     if (pack == TrainingOps.class) return HostTrainingOps.offer(this, pack);
 *     ...
 * }
 * }</pre>
 * Like every pack it assumes well-formed inputs: {@link io.cogvideo.spi.CheckedBackend} validates them first.
 */
public final class HostTrainingOps implements TrainingOps {
    private final Backend backend;

    /** The pack over {@code backend}'s tensors (the raw backend, the one whose {@code find} returns it). */
    public HostTrainingOps(Backend backend) {
        this.backend = backend;
    }

    /**
     * The helper for a backend's {@code find}: this pack over {@code backend} when {@code pack} is
     * {@link TrainingOps}, else empty.
     */
    @SuppressWarnings("unchecked")
    public static <P> Optional<P> offer(Backend backend, Class<P> pack) {
        return pack == TrainingOps.class ? Optional.of((P) new HostTrainingOps(backend)) : Optional.empty();
    }

    private double[] host(Tensor t) {
        return TrainingKernels.widen(backend.toFloats(t));
    }

    private Tensor device(double[] values, int... shape) {
        return backend.fromFloats(TrainingKernels.narrow(values), shape);
    }

    private static int rows(Tensor t) {
        int[] s = t.shape();
        int r = 1;
        for (int i = 0; i < s.length - 1; i++) {
            r *= s[i];
        }
        return r;
    }

    @Override
    public Tensor gatherRowsBackward(Tensor dOut, int[] rows, int tableRows) {
        int h = dOut.dim(-1);
        return device(TrainingKernels.gatherRowsBackward(host(dOut), h, rows, tableRows), tableRows, h);
    }

    @Override
    public LinearGrads linearBackward(Tensor x, Tensor weight, Tensor dY, boolean weightGrads, boolean hasBias) {
        int in = weight.dim(1);
        int out = weight.dim(0);
        int n = rows(x);
        double[] dy = host(dY);
        Tensor dx = device(TrainingKernels.linearBackwardX(dy, n, in, host(weight), out), x.shape());
        if (!weightGrads) {
            return new LinearGrads(dx, null, null);
        }
        Tensor dw = device(TrainingKernels.linearBackwardW(host(x), dy, n, in, out), out, in);
        Tensor db = hasBias ? device(TrainingKernels.columnSums(dy, n, out), out) : null;
        return new LinearGrads(dx, dw, db);
    }

    @Override
    public LayerNormGrads layerNormBackward(Tensor x, Tensor gamma, Tensor dY, float eps) {
        int h = x.dim(-1);
        double[][] g = TrainingKernels.layerNormBackward(host(x), rows(x), h, host(gamma), eps, host(dY));
        return new LayerNormGrads(device(g[0], x.shape()), device(g[1], h), device(g[2], h));
    }

    @Override
    public Tensor geluBackward(Tensor x, Tensor dY) {
        return device(TrainingKernels.geluBackward(host(x), host(dY)), x.shape());
    }

    @Override
    public ChannelMixGrads channelMixBackward(Tensor base, Tensor plus, Tensor mixLogits, Tensor dOut) {
        int h = base.dim(-1);
        double[][] g = TrainingKernels.channelMixBackward(host(base), host(plus), host(mixLogits), h, host(dOut));
        return new ChannelMixGrads(device(g[0], base.shape()), device(g[1], plus.shape()), device(g[2], h));
    }

    private static TrainingKernels.AttentionShape shape(Tensor q, Tensor k, AttentionMask mask) {
        return new TrainingKernels.AttentionShape(q.dim(0), q.dim(1), k.dim(1), mask.heads(),
                q.dim(2) / mask.heads());
    }

    @Override
    public AttentionForward attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout) {
        TrainingKernels.AttentionShape s = shape(q, k, mask);
        double[] out = new double[s.batch() * s.nq() * q.dim(2)];
        double[] lse = new double[s.batch() * s.heads() * s.nq()];
        int[][] keys = TrainingKernels.visibleKeys(mask, s.nq(), s.nk());
        TrainingKernels.attentionForward(host(q), host(k), host(v), s, mask, keys, dropout.rate(), dropout.seed(),
                out, lse);
        return new AttentionForward(device(out, q.shape()), device(lse, s.batch(), s.heads(), s.nq()));
    }

    @Override
    public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout,
            AttentionForward forward, Tensor dOut) {
        TrainingKernels.AttentionShape s = shape(q, k, mask);
        double[] dq = new double[s.batch() * s.nq() * q.dim(2)];
        double[] dk = new double[s.batch() * s.nk() * k.dim(2)];
        double[] dv = new double[dk.length];
        int[][] keys = TrainingKernels.visibleKeys(mask, s.nq(), s.nk());
        TrainingKernels.attentionBackward(host(q), host(k), host(v), s, mask, keys, dropout.rate(), dropout.seed(),
                host(forward.out()), host(forward.logSumExp()), host(dOut), dq, dk, dv);
        return new AttentionGrads(device(dq, q.shape()), device(dk, k.shape()), device(dv, v.shape()));
    }

    @Override
    public CrossEntropy crossEntropy(Tensor x, Tensor head, int[] labels, float[] weights) {
        int h = x.dim(-1);
        int n = rows(x);
        int vocab = head.dim(0);
        double[] losses = new double[n];
        double[] dx = new double[n * h];
        double[] dHead = new double[vocab * h];
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[i] = weights[i];
        }
        TrainingKernels.crossEntropy(host(x), n, h, host(head), vocab, labels, w, losses, dx, dHead);
        return new CrossEntropy(losses, device(dx, x.shape()), device(dHead, vocab, h));
    }

    @Override
    public Tensor dropout(Tensor x, Dropout dropout) {
        if (!dropout.active()) {
            return backend.fromFloats(backend.toFloats(x), x.shape());
        }
        return device(TrainingKernels.dropout(host(x), dropout.rate(), dropout.seed()), x.shape());
    }
}
