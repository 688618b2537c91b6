package io.cogvideo.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;

/**
 * The CPU backend's worker threads: a dedicated fork-join pool of the configured size. The calling thread takes the
 * first share of every parallel loop itself, so a loop split in two costs one hand-off, not two.
 */
final class CpuThreads {
    private final ForkJoinPool pool;
    private final int count;

    CpuThreads(int count) {
        this.count = Math.max(1, count);
        this.pool = this.count == 1 ? null : new ForkJoinPool(this.count - 1);
    }

    int count() {
        return count;
    }

    /**
     * Runs {@code body(i)} for every {@code i} in {@code [from, to)}: contiguous shares of the range run on up to
     * {@link #count()} threads (the caller included); returns when all have finished, rethrowing the first failure.
     */
    void forRange(int from, int to, IntConsumer body) {
        int n = to - from;
        if (pool == null || n <= 1 || ForkJoinTask.inForkJoinPool()) {
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
            return;
        }
        int groups = Math.min(count, n);
        ForkJoinTask<?>[] others = new ForkJoinTask<?>[groups - 1];
        for (int g = 1; g < groups; g++) {
            int a = from + (int) ((long) n * g / groups);
            int b = from + (int) ((long) n * (g + 1) / groups);
            others[g - 1] = pool.submit(() -> {
                for (int i = a; i < b; i++) {
                    body.accept(i);
                }
            });
        }
        RuntimeException failure = null;
        try {
            int b0 = from + n / groups;
            for (int i = from; i < b0; i++) {
                body.accept(i);
            }
        } catch (RuntimeException e) {
            failure = e;
        }
        for (ForkJoinTask<?> t : others) {
            try {
                t.join();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
