package io.cogvideo.generation;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * One random generator per sequence, derived from the request seed, the stage's stream and the sequence's index,
 * so that tokens do not depend on how sequences are grouped into batches. The derivation (SplitMix64 finaliser over
 * seed, stream and index; {@code L64X128MixRandom}) is part of the reproducibility promise: changing it changes the
 * tokens of every seed.
 */
final class SequenceRandom {
    /** Stream of the first frame. */
    static final int FIRST_FRAME = 0;
    /** Stream of key frames 1-4. */
    static final int KEY_FRAMES = 1;
    /** Stream of super-resolution (one sequence per frame). */
    static final int SUPER_RESOLUTION = 16;

    private SequenceRandom() {
    }

    /** Stream of interpolation round {@code round} (1-based): {@code 1 + round}. */
    static int interpolation(int round) {
        return 1 + round;
    }

    /** Generators of sequences {@code [from, from + count)} of {@code stream}. */
    static RandomGenerator[] of(long seed, int stream, int from, int count) {
        RandomGenerator[] out = new RandomGenerator[count];
        for (int i = 0; i < count; i++) {
            long s = mix(mix(mix(seed) ^ (stream * 0x9E3779B97F4A7C15L)) ^ ((from + i) * 0xC2B2AE3D27D4EB4FL));
            out[i] = RandomGeneratorFactory.of("L64X128MixRandom").create(s);
        }
        return out;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
