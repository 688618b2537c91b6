package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The backend's worker threads: every index once, failures, nested and concurrent loops, close. */
class CpuThreadsTest {
    @Test
    void everyIndexRunsOnceAcrossManyLoops() {
        CpuThreads t = new CpuThreads(3);
        try {
            for (int loop = 0; loop < 2000; loop++) {
                int n = 1 + loop % 17;
                AtomicIntegerArray seen = new AtomicIntegerArray(n);
                t.forRange(0, n, seen::incrementAndGet);
                for (int i = 0; i < n; i++) {
                    assertThat(seen.get(i)).as("loop %d index %d", loop, i).isEqualTo(1);
                }
            }
        } finally {
            t.close();
        }
    }

    @Test
    void aFailureInAnyShareIsRethrown() {
        CpuThreads t = new CpuThreads(2);
        try {
            assertThatThrownBy(() -> t.forRange(0, 8, i -> {
                if (i == 7) {
                    throw new IllegalArgumentException("boom at " + i);
                }
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("boom at 7");
            AtomicIntegerArray seen = new AtomicIntegerArray(4);
            t.forRange(0, 4, seen::incrementAndGet); // still usable
            assertThat(seen.get(3)).isEqualTo(1);
        } finally {
            t.close();
        }
    }

    @Test
    void nestedAndConcurrentLoopsRunInline() throws Exception {
        CpuThreads t = new CpuThreads(2);
        try {
            AtomicIntegerArray seen = new AtomicIntegerArray(16);
            t.forRange(0, 4, i -> t.forRange(0, 4, j -> seen.incrementAndGet(i * 4 + j)));
            for (int i = 0; i < 16; i++) {
                assertThat(seen.get(i)).isEqualTo(1);
            }
            AtomicIntegerArray both = new AtomicIntegerArray(2 * 1000);
            Thread other = new Thread(() -> {
                for (int k = 0; k < 500; k++) {
                    int base = k * 2;
                    t.forRange(0, 2, i -> both.incrementAndGet(1000 + (base + i) % 1000));
                }
            });
            other.start();
            for (int k = 0; k < 500; k++) {
                int base = k * 2;
                t.forRange(0, 2, i -> both.incrementAndGet((base + i) % 1000));
            }
            other.join();
            for (int i = 0; i < 2000; i++) {
                assertThat(both.get(i)).isEqualTo(1);
            }
        } finally {
            t.close();
        }
    }

    @Test
    void loopsAfterCloseStillRun() {
        CpuThreads t = new CpuThreads(2);
        t.close();
        AtomicIntegerArray seen = new AtomicIntegerArray(5);
        t.forRange(0, 5, seen::incrementAndGet);
        for (int i = 0; i < 5; i++) {
            assertThat(seen.get(i)).isEqualTo(1);
        }
    }
}
