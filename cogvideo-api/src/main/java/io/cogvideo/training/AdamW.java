package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * AdamW on host float arrays (fp32 master weights), the same float32 arithmetic as {@code torch.optim.AdamW}'s
 * single-tensor path:
 *
 * <pre>
 * p  = p * (1 - lr * wd)                       decoupled weight decay
 * m  = m + (1 - b1) * (g - m)                  (torch: exp_avg.lerp_(g, 1 - b1))
 * v  = v * b2 + (1 - b2) * g * g
 * p  = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * with {@code t} the 1-based step count. Not thread-safe; each parameter's update is independent, so the result does
 * not depend on thread counts. {@link #state()} snapshots {@code (t, m, v)} for checkpoints.
 */
public final class AdamW {
    private final AdamWOptions options;
    private final Map<String, float[]> m = new TreeMap<>();
    private final Map<String, float[]> v = new TreeMap<>();
    private long step;

    /** A fresh optimizer (step 0, zero moments). */
    public AdamW(AdamWOptions options) {
        this.options = java.util.Objects.requireNonNull(options, "options");
    }

    /** An optimizer continuing from a saved state. */
    public AdamW(AdamWOptions options, OptimizerState state) {
        this(options);
        this.step = state.step();
        for (String k : state.keys()) {
            m.put(k, state.expAvg(k));
            v.put(k, state.expAvgSq(k));
        }
    }

    /** The hyper-parameters. */
    public AdamWOptions options() {
        return options;
    }

    /** Updates applied so far. */
    public long stepCount() {
        return step;
    }

    /**
     * One update of every parameter in {@code gradients} at learning rate {@code lr} (the schedule's value for this
     * step). Parameters are updated in place.
     *
     * @param parameters fp32 master weights by key; must contain every key of {@code gradients}
     * @param gradients  gradients by key, each the length of its parameter
     * @param lr         learning rate of this step, {@code >= 0}
     */
    public void step(Map<String, float[]> parameters, Map<String, float[]> gradients, double lr) {
        if (!(lr >= 0) || !Double.isFinite(lr)) {
            throw new CogVideoException("AdamW: lr = " + lr + " is invalid; allowed: >= 0");
        }
        for (Map.Entry<String, float[]> e : gradients.entrySet()) {
            float[] p = parameters.get(e.getKey());
            if (p == null) {
                throw new CogVideoException("AdamW: gradient for '" + e.getKey() + "' has no parameter");
            }
            if (p.length != e.getValue().length) {
                throw new CogVideoException("AdamW: gradient for '" + e.getKey() + "' has " + e.getValue().length
                        + " values, the parameter " + p.length);
            }
        }
        step++;
        double b1 = options.beta1();
        double b2 = options.beta2();
        float decay = (float) (1 - lr * options.weightDecay());
        float oneMinusB1 = (float) (1 - b1);
        float b2f = (float) b2;
        float oneMinusB2 = (float) (1 - b2);
        double bc1 = 1 - Math.pow(b1, step);
        double bc2 = 1 - Math.pow(b2, step);
        float stepSize = (float) (lr / bc1);
        float bc2Sqrt = (float) Math.sqrt(bc2);
        float eps = (float) options.eps();
        for (Map.Entry<String, float[]> e : gradients.entrySet()) {
            float[] g = e.getValue();
            float[] p = parameters.get(e.getKey());
            float[] mk = m.computeIfAbsent(e.getKey(), k -> new float[g.length]);
            float[] vk = v.computeIfAbsent(e.getKey(), k -> new float[g.length]);
            if (mk.length != g.length) {
                throw new CogVideoException("AdamW: state of '" + e.getKey() + "' has " + mk.length
                        + " values, the gradient " + g.length);
            }
            for (int i = 0; i < g.length; i++) {
                float gi = g[i];
                float pi = p[i] * decay;
                float mi = mk[i] + oneMinusB1 * (gi - mk[i]);
                float vi = vk[i] * b2f + oneMinusB2 * (gi * gi);
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
                p[i] = pi - stepSize * (mi / denom);
                mk[i] = mi;
                vk[i] = vi;
            }
        }
    }

    /** A deep copy of {@code (step, m, v)}. */
    public OptimizerState state() {
        Map<String, float[]> mc = new LinkedHashMap<>();
        Map<String, float[]> vc = new LinkedHashMap<>();
        for (String k : m.keySet()) {
            mc.put(k, m.get(k));
            vc.put(k, v.get(k));
        }
        return new OptimizerState(step, mc, vc);
    }

    /**
     * Global-norm gradient clipping as {@code torch.nn.utils.clip_grad_norm_} (the original clips at 0.1): the L2
     * norm over every gradient (accumulated in double, keys in sorted order); when {@code maxNorm > 0} and the
     * norm exceeds it, every gradient is scaled in place by {@code maxNorm / (norm + 1e-6)}.
     *
     * @param maxNorm clip threshold; {@code <= 0} disables clipping (the norm is still returned)
     * @return the norm before clipping
     */
    public static double clipGlobalNorm(Map<String, float[]> gradients, double maxNorm) {
        double sq = 0;
        for (float[] g : new TreeMap<>(gradients).values()) {
            double s = 0;
            for (float x : g) {
                s += (double) x * x;
            }
            sq += s;
        }
        double norm = Math.sqrt(sq);
        if (maxNorm > 0) {
            double coef = maxNorm / (norm + 1e-6);
            if (coef < 1) {
                float c = (float) coef;
                for (float[] g : gradients.values()) {
                    for (int i = 0; i < g.length; i++) {
                        g[i] *= c;
                    }
                }
            }
        }
        return norm;
    }
}
