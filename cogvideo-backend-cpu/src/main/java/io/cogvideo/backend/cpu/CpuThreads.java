package io.cogvideo.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The CPU backend's worker threads (a dedicated fork-join pool of the configured size). */
final class CpuThreads {
    private final ForkJoinPool pool;
    private final int count;

    CpuThreads(int count) {
        this.count = Math.max(1, count);
        this.pool = this.count == 1 ? null : new ForkJoinPool(this.count);
    }

    int count() {
        return count;
    }

    /** Runs {@code body(i)} for {@code i} in {@code [from, to)}, in parallel when there is more than one index. */
    void forRange(int from, int to, IntConsumer body) {
        if (pool == null || to - from <= 1) {
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
            return;
        }
        pool.submit(() -> IntStream.range(from, to).parallel().forEach(body)).join();
    }

    void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
