package io.cogvideo.training;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.VqVaeTrainingOps;
import java.util.Optional;

/**
 * The plain-Java {@link VqVaeTrainingOps} for any backend: it copies its inputs to the host with
 * {@link Backend#toFloats}, runs {@link VqVaeTrainingKernels} in double precision, and hands the results back with
 * {@link Backend#fromFloats} (rounded to float32). Correct everywhere and fast enough for tests and tiny models; a
 * backend with its own kernels offers a faster pack instead.
 *
 * <p>A backend opts in by returning it from {@code find}:
 * <pre>{@code
 * public <P extends OpPack> Optional<P> find(Class<P> pack) {
 *     if (pack == VqVaeTrainingOps.class) return HostVqVaeTrainingOps.offer(this, pack);
 *     ...
 * }
 * }</pre>
 * Like every pack it assumes well-formed inputs: {@link io.cogvideo.spi.CheckedBackend} validates them first.
 */
public final class HostVqVaeTrainingOps implements VqVaeTrainingOps {
    private final Backend backend;

    /** The pack over {@code backend}'s tensors (the raw backend, the one whose {@code find} returns it). */
    public HostVqVaeTrainingOps(Backend backend) {
        this.backend = backend;
    }

    /**
     * The helper for a backend's {@code find}: this pack over {@code backend} when {@code pack} is
     * {@link VqVaeTrainingOps}, else empty.
     */
    @SuppressWarnings("unchecked")
    public static <P> Optional<P> offer(Backend backend, Class<P> pack) {
        return pack == VqVaeTrainingOps.class ? Optional.of((P) new HostVqVaeTrainingOps(backend)) : Optional.empty();
    }

    private double[] host(Tensor t) {
        return TrainingKernels.widen(backend.toFloats(t));
    }

    private Tensor device(double[] values, int... shape) {
        return backend.fromFloats(TrainingKernels.narrow(values), shape);
    }

    @Override
    public Conv2dGrads conv2dBackward(Tensor x, Tensor weight, Tensor dY, int stride, int padTop, int padBottom,
            int padLeft, int padRight, boolean inputGrad, boolean hasBias) {
        int[] xs = x.shape(); // [n, c, h, w]
        int[] ws = weight.shape(); // [o, c, kh, kw]
        VqVaeTrainingKernels.ConvShape s = new VqVaeTrainingKernels.ConvShape(xs[0], xs[1], xs[2], xs[3], ws[0],
                ws[2], ws[3], stride, padTop, padBottom, padLeft, padRight);
        double[] dy = host(dY); // [n, o, ho, wo]
        Tensor dX = inputGrad ? device(VqVaeTrainingKernels.conv2dBackwardX(dy, host(weight), s), xs) : null;
        Tensor dW = device(VqVaeTrainingKernels.conv2dBackwardW(host(x), dy, s), ws);
        Tensor dB = hasBias ? device(VqVaeTrainingKernels.channelSums(dy, s.n(), s.o(), s.ho() * s.wo()), s.o())
                : null;
        return new Conv2dGrads(dX, dW, dB);
    }

    @Override
    public GroupNormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, Tensor dY, float eps) {
        int[] s = x.shape(); // [n, c, h, w]
        double[][] g = VqVaeTrainingKernels.groupNormBackward(host(x), s[0], s[1], s[2] * s[3], groups, host(gamma),
                eps, host(dY));
        return new GroupNormGrads(device(g[0], s), device(g[1], s[1]), device(g[2], s[1]));
    }

    @Override
    public Tensor swishBackward(Tensor x, Tensor dY) {
        return device(VqVaeTrainingKernels.swishBackward(host(x), host(dY)), x.shape());
    }

    @Override
    public Tensor upsampleNearest2xBackward(Tensor dY) {
        int[] s = dY.shape(); // [n, c, 2h, 2w]
        int h = s[2] / 2;
        int w = s[3] / 2;
        return device(VqVaeTrainingKernels.upsampleNearest2xBackward(host(dY), s[0] * s[1], h, w), s[0], s[1], h, w);
    }

    @Override
    public Tensor avgPool2x2Backward(Tensor dY, int height, int width) {
        int[] s = dY.shape(); // [n, c, height / 2, width / 2]
        return device(VqVaeTrainingKernels.avgPool2x2Backward(host(dY), s[0] * s[1], height, width), s[0], s[1],
                height, width);
    }

    @Override
    public SpatialAttentionGrads spatialAttentionBackward(Tensor q, Tensor k, Tensor v, Tensor dOut) {
        int[] s = q.shape(); // [n, c, h, w]
        double[][] g = VqVaeTrainingKernels.spatialAttentionBackward(host(q), host(k), host(v), host(dOut), s[0], s[1],
                s[2] * s[3]);
        return new SpatialAttentionGrads(device(g[0], s), device(g[1], s), device(g[2], s));
    }
}
