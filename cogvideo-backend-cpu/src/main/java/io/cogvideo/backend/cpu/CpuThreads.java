package io.cogvideo.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The CPU backend's worker threads, built for the many short parallel loops of a cached decoding step (about fifty
 * per step, 50-300 µs each): {@code count - 1} daemon workers plus the calling thread split a range into contiguous
 * shares. An idle worker spins for {@value #SPIN_NANOS} ns before it parks, so the loops of one step hand work over
 * in about a microsecond instead of the tens of microseconds a pool's park/unpark costs; between generations the
 * workers sleep.
 *
 * <p>One loop runs at a time; a loop started while another runs (another request on the same backend), from inside
 * a loop, or after {@link #close()} runs on its calling thread alone. {@code close()} waits for a running loop and
 * for the workers to end.
 *
 * <p>Each {@link CpuBackend} owns one instance (its only Java thread pool): nothing here is shared between backends.
 */
final class CpuThreads {
    /** How long an idle worker spins before it parks. */
    static final long SPIN_NANOS = 200_000;

    private final int count;
    private final Worker[] workers;
    private final ReentrantLock busy = new ReentrantLock();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean closed;
    // the current loop, published to the workers by their ticket (a volatile write after these plain ones)
    private IntConsumer body;
    private int from;
    private int n;
    private int groups;

    CpuThreads(int count) {
        this.count = Math.max(1, count);
        this.workers = new Worker[this.count - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].thread.start();
        }
    }

    int count() {
        return count;
    }

    /**
     * Runs {@code body(i)} for every {@code i} in {@code [from, to)}: contiguous shares of the range run on up to
     * {@link #count()} threads (the caller included); returns when all have finished, rethrowing the first failure.
     */
    void forRange(int from, int to, IntConsumer body) {
        int size = to - from;
        if (workers.length == 0 || size <= 1 || Thread.currentThread() instanceof WorkerThread || closed
                || busy.isHeldByCurrentThread() || !busy.tryLock()) {
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
            return;
        }
        if (closed) { // closed after the check above: the workers may be gone
            busy.unlock();
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
            return;
        }
        try {
            int g = Math.min(count, size);
            this.body = body;
            this.from = from;
            this.n = size;
            this.groups = g;
            failure.set(null);
            pending.set(g - 1);
            for (int w = 0; w < g - 1; w++) {
                workers[w].wake();
            }
            try {
                runShare(0);
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
            int spins = 0;
            while (pending.get() != 0) {
                if (++spins < 10_000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            this.body = null;
            Throwable t = failure.get();
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error err) {
                throw err;
            }
            if (t != null) {
                throw new IllegalStateException("a parallel loop failed", t);
            }
        } finally {
            busy.unlock();
        }
    }

    /** A contiguous range {@code [from, to)} of a split loop. */
    interface Range {
        void run(int from, int to);
    }

    /**
     * Splits {@code [0, n)} into {@code parts} contiguous ranges of near-equal length and runs {@code body} on each
     * (through {@link #forRange}); {@code parts} is capped at {@code n}.
     */
    void forParts(int n, int parts, Range body) {
        int p = Math.max(1, Math.min(parts, n));
        forRange(0, p, part -> body.run((int) ((long) n * part / p), (int) ((long) n * (part + 1) / p)));
    }

    private void runShare(int g) {
        int a = from + (int) ((long) n * g / groups);
        int b = from + (int) ((long) n * (g + 1) / groups);
        for (int i = a; i < b; i++) {
            body.accept(i);
        }
    }

    /** The worker threads (not the callers that take share 0); for tests. */
    java.util.List<Thread> workerThreads() {
        java.util.List<Thread> list = new java.util.ArrayList<>();
        for (Worker w : workers) {
            list.add(w.thread);
        }
        return list;
    }

    /**
     * Stops the workers once a running loop has finished and waits for them to end; later loops run on their calling
     * threads. Idempotent.
     */
    void close() {
        busy.lock();
        try {
            closed = true;
        } finally {
            busy.unlock();
        }
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
        boolean interrupted = false;
        for (Worker w : workers) {
            if (w.thread == Thread.currentThread()) {
                continue;
            }
            while (w.thread.isAlive()) {
                try {
                    w.thread.join();
                } catch (InterruptedException e) {
                    interrupted = true; // finish waiting (a worker ends within its spin time), then restore the flag
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class WorkerThread extends Thread {
        WorkerThread(Runnable r, String name) {
            super(r, name);
            setDaemon(true);
        }
    }

    private final class Worker implements Runnable {
        final int share;
        final Thread thread;
        volatile long ticket;
        volatile boolean parked;

        Worker(int share) {
            this.share = share;
            this.thread = new WorkerThread(this, "cogvideo-cpu-" + share);
        }

        void wake() {
            ticket++; // publishes the loop fields written before
            if (parked) {
                LockSupport.unpark(thread);
            }
        }

        @Override
        public void run() {
            long seen = 0;
            while (!closed) {
                long t = ticket;
                if (t != seen) {
                    seen = t;
                    try {
                        if (share < groups) {
                            runShare(share);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        pending.decrementAndGet();
                    }
                    continue;
                }
                long start = System.nanoTime();
                while (ticket == seen && !closed && System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                }
                if (ticket == seen && !closed) {
                    parked = true;
                    if (ticket == seen && !closed) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }
}
