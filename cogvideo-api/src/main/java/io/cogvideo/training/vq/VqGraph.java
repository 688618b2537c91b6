package io.cogvideo.training.vq;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.VqVaeTrainingOps;
import io.cogvideo.tokenizer.image.VqVaeConfig;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * One forward (and optionally backward) pass of the VQ-VAE's layers on a backend, recording a tape: every forward op
 * keeps its inputs and pushes a closure that, run in reverse order, turns the gradient of its output into gradients
 * of its inputs (accumulated per tensor) and of its parameters (accumulated on the host). Tensors are not closed
 * here: the caller runs the pass inside a {@link io.cogvideo.spi.TensorScope}.
 */
final class VqGraph {
    final Backend backend;
    final VqVaeOps ops;
    /** Null for a forward-only pass. */
    final VqVaeTrainingOps grads;
    private final Map<String, Tensor> params;
    private final Map<String, int[]> shapes;
    private final Map<String, float[]> paramGrads;
    private final Deque<Runnable> tape = new ArrayDeque<>();
    private final IdentityHashMap<Tensor, Tensor> gradOf = new IdentityHashMap<>();

    VqGraph(Backend backend, VqVaeOps ops, VqVaeTrainingOps grads, Map<String, Tensor> params,
            Map<String, int[]> shapes, Map<String, float[]> paramGrads) {
        this.backend = backend;
        this.ops = ops;
        this.grads = grads;
        this.params = params;
        this.shapes = shapes;
        this.paramGrads = paramGrads;
    }

    private boolean training() {
        return grads != null;
    }

    /** Pushes a backward step (run last-in first-out by {@link #backward}). */
    void onBackward(Runnable r) {
        if (training()) {
            tape.push(r);
        }
    }

    /** Adds {@code d} to the gradient of {@code t}. */
    void accumulate(Tensor t, Tensor d) {
        Tensor old = gradOf.get(t);
        gradOf.put(t, old == null ? d : backend.add(old, d));
    }

    /** The gradient accumulated for {@code t} so far, or null. */
    Tensor gradient(Tensor t) {
        return gradOf.get(t);
    }

    private void accumulateParam(String key, Tensor d) {
        float[] h = backend.toFloats(d);
        float[] acc = paramGrads.get(key);
        for (int i = 0; i < h.length; i++) {
            acc[i] += h[i];
        }
    }

    /** Seeds the gradient of {@code out} with {@code dOut} and runs the tape backwards. */
    void backward(Tensor out, Tensor dOut) {
        accumulate(out, dOut);
        while (!tape.isEmpty()) {
            tape.pop().run();
        }
    }

    private Tensor param(String key) {
        Tensor t = params.get(key);
        if (t == null) {
            throw new IllegalStateException("the VQ-VAE has no parameter '" + key + "'");
        }
        return t;
    }

    // ---------------------------------------------------------------- layers

    /**
     * A convolution {@code name.weight [O, C, k, k]}, {@code name.bias [O]}: same padding, or (0, 1, 0, 1) with
     * stride 2 for icetk's down-sampling convs.
     */
    Tensor conv(Tensor x, String name, int stride, boolean downPad, boolean inputGrad) {
        Tensor w = param(name + ".weight");
        Tensor b = param(name + ".bias");
        int k = shapes.get(name + ".weight")[2];
        int p = (k - 1) / 2;
        int pt = downPad ? 0 : p;
        int pb = downPad ? 1 : p;
        Tensor y = ops.conv2d(x, w, b, stride, pt, pb, pt, pb);
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy == null) {
                return;
            }
            VqVaeTrainingOps.Conv2dGrads g = grads.conv2dBackward(x, w, dy, stride, pt, pb, pt, pb, inputGrad, true);
            accumulateParam(name + ".weight", g.dWeight());
            accumulateParam(name + ".bias", g.dBias());
            if (inputGrad) {
                accumulate(x, g.dX());
            }
        });
        return y;
    }

    Tensor conv(Tensor x, String name) {
        return conv(x, name, 1, false, true);
    }

    /** GroupNorm(32, eps 1e-6) with {@code name.weight}, {@code name.bias}. */
    Tensor norm(Tensor x, String name) {
        Tensor gamma = param(name + ".weight");
        Tensor beta = param(name + ".bias");
        Tensor y = ops.groupNorm(x, VqVaeConfig.GROUPS, gamma, beta, VqVaeConfig.NORM_EPS);
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy == null) {
                return;
            }
            VqVaeTrainingOps.GroupNormGrads g = grads.groupNormBackward(x, VqVaeConfig.GROUPS, gamma, dy,
                    VqVaeConfig.NORM_EPS);
            accumulateParam(name + ".weight", g.dGamma());
            accumulateParam(name + ".bias", g.dBeta());
            accumulate(x, g.dX());
        });
        return y;
    }

    Tensor swish(Tensor x) {
        Tensor y = ops.swish(x);
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy != null) {
                accumulate(x, grads.swishBackward(x, dy));
            }
        });
        return y;
    }

    Tensor add(Tensor a, Tensor b) {
        Tensor y = backend.add(a, b);
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy != null) {
                accumulate(a, dy);
                accumulate(b, dy);
            }
        });
        return y;
    }

    Tensor upsample(Tensor x) {
        Tensor y = ops.upsampleNearest2x(x);
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy != null) {
                accumulate(x, grads.upsampleNearest2xBackward(dy));
            }
        });
        return y;
    }

    Tensor avgPool(Tensor x) {
        Tensor y = ops.avgPool2x2(x);
        int[] s = x.shape();
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy != null) {
                accumulate(x, grads.avgPool2x2Backward(dy, s[2], s[3]));
            }
        });
        return y;
    }

    Tensor attention(Tensor q, Tensor k, Tensor v) {
        Tensor y = ops.spatialAttention(q, k, v);
        onBackward(() -> {
            Tensor dy = gradOf.get(y);
            if (dy != null) {
                VqVaeTrainingOps.SpatialAttentionGrads g = grads.spatialAttentionBackward(q, k, v, dy);
                accumulate(q, g.dQ());
                accumulate(k, g.dK());
                accumulate(v, g.dV());
            }
        });
        return y;
    }

    // ---------------------------------------------------------------- icetk blocks

    /** icetk's {@code ResnetBlock} (nin_shortcut when the width changes). */
    Tensor resBlock(Tensor x, String p, boolean widthChanges) {
        Tensor h = conv(swish(norm(x, p + ".norm1")), p + ".conv1");
        h = conv(swish(norm(h, p + ".norm2")), p + ".conv2");
        Tensor s = widthChanges ? conv(x, p + ".nin_shortcut") : x;
        return add(s, h);
    }

    /** icetk's {@code AttnBlock}. */
    Tensor attnBlock(Tensor x, String p) {
        Tensor h = norm(x, p + ".norm");
        Tensor a = attention(conv(h, p + ".q"), conv(h, p + ".k"), conv(h, p + ".v"));
        return add(x, conv(a, p + ".proj_out"));
    }

    /** The middle: ResBlock, attention, ResBlock. */
    Tensor mid(Tensor x, String p) {
        Tensor h = resBlock(x, p + ".block_1", false);
        h = attnBlock(h, p + ".attn_1");
        return resBlock(h, p + ".block_2", false);
    }
}
