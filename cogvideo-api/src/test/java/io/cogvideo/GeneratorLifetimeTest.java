package io.cogvideo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.testkit.TinyPromptEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Concurrency and lifetime of one {@link VideoGenerator} (issue #18), on the tiny golden checkpoint and the reference
 * backend with leak tracking: many threads give the tokens each request gives alone; cancelling some requests leaves
 * the others intact; {@code close()} during runs stops them cleanly, waits for them, and frees what they held; and 50
 * rounds of all of it leave no temporary tensor, no thread and no heap behind. The requests are one stage-2 round
 * over a given 5-frame video (4 frames to make), the shortest real generation.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GeneratorLifetimeTest {
    private GoldenSet golden;
    private CheckedBackend backend;
    private TinyPromptEncoder encoder;
    private int frameLength;
    private int imageVocab;
    private ExecutorService pool;

    @BeforeAll
    void setUp() {
        golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
        CogVideoConfig config = GoldenModels.config(golden);
        imageVocab = config.imageVocabSize();
        frameLength = config.frameLength();
        encoder = new TinyPromptEncoder(imageVocab, golden.manifest().path("special_ids").path("start_of_image")
                .asInt());
        pool = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    void tearDown() {
        if (shared != null) {
            shared.close();
        }
        pool.shutdownNow();
        backend.close();
    }

    @AfterEach
    void noTemporaryLeft() {
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    private VideoGenerator newGenerator() {
        return VideoGenerator.builder().modelDir(golden.dir().resolve("checkpoint")).promptEncoder(encoder)
                .backend(backend).build();
    }

    private List<int[]> input(long seed) {
        Random r = new Random(seed);
        List<int[]> frames = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            frames.add(r.ints(frameLength, 0, imageVocab).toArray());
        }
        return frames;
    }

    /**
     * The shortest complete request: 4 given key frames at 1 fps, so only the fifth key frame is made (one frame of
     * tokens), guidance off.
     */
    private GenerationRequest.Builder request(long seed) {
        return GenerationRequest.builder().prompt(seed % 2 == 0 ? "一只猫" : "一条狗").givenFrames(input(seed)
                .subList(0, 4)).frameRate(1).guidance(false).seed(seed).maxBatchSize(4);
    }

    /** The result of {@code request(seed)} run alone (cached: each is a second of the reference backend). */
    private int[][][] alone(int seed) {
        return aloneCache.computeIfAbsent(seed, s -> shared.generate(request(s).build()).tokens());
    }

    private final java.util.Map<Integer, int[][][]> aloneCache = new java.util.concurrent.ConcurrentHashMap<>();
    private VideoGenerator shared;

    private VideoGenerator shared() {
        if (shared == null) {
            shared = newGenerator();
        }
        return shared;
    }

    private static int[][][] tokens(Future<Video> f) throws Exception {
        return f.get(120, TimeUnit.SECONDS).tokens();
    }

    @Test
    void manyThreadsOnOneGeneratorGiveTheTokensOfEachRequestAlone() throws Exception {
        VideoGenerator gen = shared();
        int n = 3;
        for (int i = 0; i < n; i++) {
            alone(i);
        }
        List<Future<Video>> together = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            GenerationRequest r = request(i).build();
            together.add(pool.submit(() -> gen.generate(r)));
        }
        for (int i = 0; i < n; i++) {
            assertThat(Arrays.deepEquals(tokens(together.get(i)), alone(i))).as("request %d", i).isTrue();
        }
        assertThat(Arrays.deepEquals(alone(0), alone(1))).as("different requests differ").isFalse();
    }

    @Test
    void cancellingSomeRequestsLeavesTheOthersIntact() throws Exception {
        VideoGenerator gen = shared();
        {
            int[][][] alone1 = alone(1);
            int[][][] alone3 = alone(3);
            Cancellation c0 = new Cancellation();
            Cancellation c2 = new Cancellation();
            // requests 0 and 2 cancel themselves at their first step, while 1 and 3 run
            Future<Video> f0 = pool.submit(() -> gen.generate(request(0).cancellation(c0).listener(p -> c0.cancel())
                    .build()));
            Future<Video> f1 = pool.submit(() -> gen.generate(request(1).build()));
            Future<Video> f2 = pool.submit(() -> gen.generate(request(2).cancellation(c2).listener(p -> c2.cancel())
                    .build()));
            Future<Video> f3 = pool.submit(() -> gen.generate(request(3).build()));
            for (Future<Video> cancelled : List.of(f0, f2)) {
                assertThatThrownBy(() -> cancelled.get(120, TimeUnit.SECONDS))
                        .hasCauseInstanceOf(GenerationCancelledException.class)
                        .cause().hasMessageContaining("cancelled").hasMessageNotContaining("closed");
            }
            assertThat(Arrays.deepEquals(tokens(f1), alone1)).isTrue();
            assertThat(Arrays.deepEquals(tokens(f3), alone3)).isTrue();
        }
    }

    @Test
    void closeDuringRunsStopsThemCleanlyWaitsAndFreesTheirMemory() throws Exception {
        VideoGenerator gen = newGenerator();
        CountDownLatch running = new CountDownLatch(2);
        AtomicBoolean exited = new AtomicBoolean();
        List<Future<Video>> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            AtomicBoolean counted = new AtomicBoolean();
            GenerationRequest r = request(i).listener(p -> {
                if (counted.compareAndSet(false, true)) {
                    running.countDown();
                }
            }).build();
            runs.add(pool.submit(() -> {
                try {
                    return gen.generate(r);
                } finally {
                    exited.set(true);
                }
            }));
        }
        assertThat(running.await(120, TimeUnit.SECONDS)).isTrue();
        gen.close(); // returns only once both runs have left the generator and freed what they held
        assertThat(backend.liveTemporaries()).as("right after close(): " + backend.leakReport()).isZero();
        for (Future<Video> f : runs) {
            assertThatThrownBy(() -> f.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(GenerationCancelledException.class)
                    .cause().hasMessageContaining("VideoGenerator was closed during the run");
        }
        assertThat(exited.get()).isTrue();
        assertThatThrownBy(() -> gen.generate(request(0).build())).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("closed");
        gen.close(); // idempotent
    }

    @Test
    void closeFromInsideARunDoesNotDeadlock() throws Exception {
        VideoGenerator gen = newGenerator();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Future<Video> f = pool.submit(() -> gen.generate(request(4).listener(p -> gen.close()).build()));
        try {
            f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            failure.set(e.getCause());
        }
        assertThat(failure.get()).isInstanceOf(GenerationCancelledException.class)
                .hasMessageContaining("closed during the run");
        assertThatThrownBy(() -> gen.generate(request(0).build())).hasMessageContaining("closed");
    }

    @Test
    void aResultLargerThanHalfTheHeapIsRefusedBeforeAnyWork() {
        try (VideoGenerator gen = VideoGenerator.builder().modelDir(golden.dir().resolve("checkpoint"))
                .promptEncoder(encoder).backend(backend)
                .imageDecoder(t -> new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB))
                .build()) {
            java.util.concurrent.atomic.AtomicInteger events = new java.util.concurrent.atomic.AtomicInteger();
            long perSample = 33L * (frameLength * 4L * 2 + (long) gen.frameSize() * gen.frameSize() * 4 * 2);
            int fit = (int) (Runtime.getRuntime().maxMemory() / 2 / perSample);
            org.junit.jupiter.api.Assumptions.assumeTrue(fit < GenerationRequest.MAX_SAMPLES, "heap too large");
            assertThatThrownBy(() -> gen.generate(textRequest(1).frameRate(8).samples(fit + 1)
                    .listener(p -> events.incrementAndGet()).build())).isInstanceOf(CogVideoException.class)
                    .hasMessageStartingWith("samples " + (fit + 1) + " x 33 frames would take about ")
                    .hasMessageContaining("at most " + fit + " samples of this request fit");
            assertThat(events.get()).isZero();
        }
    }

    @Test
    void aBatchSizeAsLargeAsAnIntDoesNotOverflowTheProgressCount() {
        List<GenerationProgress> progress = java.util.Collections.synchronizedList(new ArrayList<>());
        Video v = shared().generate(request(7).samples(2).maxBatchSize(Integer.MAX_VALUE).listener(progress::add)
                .build());
        assertThat(v.samples()).isEqualTo(2);
        assertThat(progress).isNotEmpty().allSatisfy(p -> {
            assertThat(p.total()).isPositive();
            assertThat(p.step()).isBetween(0, p.total());
        });
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }

    @Test
    void fiftyRoundsOfConcurrentRunsCancelAndCloseLeakNothing() throws Exception {
        // warm-up round, then the baseline
        round(0);
        long heapBefore = usedHeapAfterGc();
        int threadsBefore = Thread.activeCount();
        for (int i = 1; i <= 50; i++) {
            round(i);
            assertThat(backend.liveTemporaries()).as("round %d: %s", i, backend.leakReport()).isZero();
        }
        long grown = usedHeapAfterGc() - heapBefore;
        assertThat(grown).as("heap kept by 50 rounds (bytes)").isLessThan(32L << 20);
        assertThat(Thread.activeCount()).as("threads").isLessThanOrEqualTo(threadsBefore + 2);
    }

    /** A text-to-video request (first frame first: the shortest prefill). */
    private static GenerationRequest.Builder textRequest(long seed) {
        return GenerationRequest.builder().prompt("一只猫").frameRate(1).guidance(false).seed(seed).maxBatchSize(2);
    }

    /** One generator: two runs at once, one cancelled at its first step, the other stopped by close(). */
    private void round(int i) throws Exception {
        VideoGenerator gen = newGenerator();
        Cancellation cancel = new Cancellation();
        CountDownLatch second = new CountDownLatch(1);
        Future<Video> cancelled = pool.submit(() -> gen.generate(textRequest(i).cancellation(cancel)
                .listener(p -> cancel.cancel()).build()));
        Future<Video> closed = pool.submit(() -> gen.generate(textRequest(i + 1).listener(p -> second.countDown())
                .build()));
        assertThat(second.await(60, TimeUnit.SECONDS)).isTrue();
        gen.close();
        assertThatThrownBy(() -> cancelled.get(60, TimeUnit.SECONDS))
                .hasCauseInstanceOf(GenerationCancelledException.class);
        assertThatThrownBy(() -> closed.get(60, TimeUnit.SECONDS)).cause().hasMessageContaining("closed");
    }
}
