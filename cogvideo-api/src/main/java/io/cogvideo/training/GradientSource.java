package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loss and gradients of a batch: what {@link Trainer} needs from a model. The CogVideo transformer provides it
 * through its training op pack; tests use small synthetic sources.
 */
@FunctionalInterface
public interface GradientSource {

    /**
     * The loss of {@code rows} (the original's {@code sum(ce * mask) / sum(mask)} over the batch) and its gradient
     * with respect to every key of {@code trainableKeys}.
     *
     * @param rows          the batch, all of the same layout
     * @param trainableKeys state-dict keys to differentiate; empty for a forward-only evaluation
     */
    Step lossAndGradients(List<TrainingExample> rows, Set<String> trainableKeys);

    /** The loss only (held-out evaluation). The default asks for no gradients. */
    default double loss(List<TrainingExample> rows) {
        return lossAndGradients(rows, Set.of()).loss();
    }

    /**
     * The result of one forward and backward pass.
     *
     * @param loss           the batch loss
     * @param perFrameLosses what the original logs per frame ({@code AR_f*} / {@code ITP_f*}); may be empty
     * @param gradients      gradient by state-dict key, flat row-major float32, the length of the parameter; the
     *                       trainer takes ownership (it clips them in place)
     */
    record Step(double loss, double[] perFrameLosses, Map<String, float[]> gradients) {
        public Step {
            if (perFrameLosses == null) {
                perFrameLosses = new double[0];
            }
            perFrameLosses = perFrameLosses.clone();
            if (gradients == null) {
                throw new CogVideoException("gradient step: gradients are required (an empty map for none)");
            }
            gradients = Collections.unmodifiableMap(new LinkedHashMap<>(gradients));
        }

        @Override
        public double[] perFrameLosses() {
            return perFrameLosses.clone();
        }
    }
}
