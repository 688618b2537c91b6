package io.cogvideo.generation;

import java.util.random.RandomGenerator;

/**
 * Picks the next token from a logit vector. Implementations are immutable and thread-safe; all randomness comes
 * from the generator passed in (one per request, seeded by the request), so the same seed, backend and inputs give
 * the same tokens.
 */
@FunctionalInterface
public interface TokenSampler {

    /**
     * Samples one token id.
     *
     * @param logits logits of one sequence, {@code logits[offset .. offset + length)}
     * @param rng    the request's random generator
     * @return a token id in {@code [0, length)}
     */
    int sample(float[] logits, int offset, int length, RandomGenerator rng);
}
