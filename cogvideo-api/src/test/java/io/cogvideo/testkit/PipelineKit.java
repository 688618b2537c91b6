package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.Cancellation;
import io.cogvideo.CogVideoException;
import io.cogvideo.GenerationCancelledException;
import io.cogvideo.GenerationProgress;
import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.DsrConfig;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.OpPack;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * End-to-end generation on the tiny golden checkpoint (random weights, so the tokens mean nothing; the structure,
 * determinism, cancellation and threading are what is checked). Run by every backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class PipelineKit {
    protected Backend backend;
    protected VideoGenerator generator;
    protected int frameLength;
    protected int imageVocab;

    protected abstract Backend newBackend();

    private GoldenSet golden;
    private TinyPromptEncoder encoder;

    @BeforeAll
    void setUp() {
        golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        backend = CheckedBackend.wrap(newBackend());
        CogVideoConfig config = GoldenModels.config(golden);
        int soi = golden.manifest().path("special_ids").path("start_of_image").asInt();
        imageVocab = config.imageVocabSize();
        encoder = new TinyPromptEncoder(imageVocab, soi);
        // the golden checkpoint through the public builder, on the kit's backend (stage-2 window 10, the bundled
        // cluster table for 20000 image tokens, as the released pipeline)
        generator = generatorBuilder().build();
        frameLength = config.frameLength();
    }

    /** A builder over the golden checkpoint, the tiny tokenizer and the kit's backend (which it does not close). */
    protected VideoGenerator.Builder generatorBuilder() {
        return VideoGenerator.builder().modelDir(golden.dir().resolve("checkpoint")).promptEncoder(encoder)
                .backend(backend);
    }

    @AfterAll
    void tearDown() {
        generator.close();
        backend.close();
    }

    private GenerationRequest.Builder small() {
        // guidance off and a small batch keep the tiny runs short; guidance is covered by the parity suite
        return GenerationRequest.builder().prompt("一只猫").guidance(false).maxBatchSize(8);
    }

    @Test
    void frameRateGivesFrameCountAndSameSeedSameTokens() {
        List<GenerationProgress> progress = Collections.synchronizedList(new ArrayList<>());
        Video a = generator.generate(small().frameRate(2).seed(11).listener(progress::add).build());
        assertThat(a.frameCount()).isEqualTo(9);
        assertThat(a.fps()).isEqualTo(2);
        assertThat(a.seed()).isEqualTo(11);
        for (int f = 0; f < a.frameCount(); f++) {
            int[] tok = a.frameTokens(0, f);
            assertThat(tok).hasSize(frameLength);
            assertThat(java.util.Arrays.stream(tok).allMatch(t -> t >= 0 && t < imageVocab)).isTrue();
        }
        assertThat(a.timings()).containsKeys(GenerationStage.FIRST_FRAME, GenerationStage.KEY_FRAMES,
                GenerationStage.INTERPOLATION_1);
        assertThat(progress).extracting(GenerationProgress::stage).containsSequence(GenerationStage.FIRST_FRAME,
                GenerationStage.FIRST_FRAME);
        GenerationProgress last = progress.get(progress.size() - 1);
        assertThat(last.stage()).isEqualTo(GenerationStage.INTERPOLATION_1);
        assertThat(last.step()).isEqualTo(last.total());

        Video b = generator.generate(small().frameRate(2).seed(11).build());
        assertThat(java.util.Arrays.deepEquals(b.tokens(), a.tokens())).as("same tokens").isTrue();
        Video c = generator.generate(small().frameRate(2).seed(12).build());
        assertThat(java.util.Arrays.deepEquals(c.tokens(), a.tokens())).as("different tokens").isFalse();
        // stage 2 keeps the parent frames: key frames sit at even indexes
        Video keys = generator.generate(small().frameRate(1).seed(11).build());
        assertThat(keys.frameCount()).isEqualTo(5);
        for (int k = 0; k < 5; k++) {
            assertThat(a.frameTokens(0, 2 * k)).containsExactly(keys.frameTokens(0, k));
        }
    }

    @Test
    void fullFrameRateFromGivenKeyFrames() {
        // 4 given key frames: only the last key frame and the three interpolation rounds run
        Video keys = generator.generate(small().frameRate(1).seed(3).build());
        List<int[]> given = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            given.add(keys.frameTokens(0, k));
        }
        Video v = generator.generate(small().frameRate(8).seed(5).samples(2).givenFrames(given).build());
        assertThat(v.samples()).isEqualTo(2);
        assertThat(v.frameCount()).isEqualTo(33);
        for (int s = 0; s < 2; s++) {
            for (int k = 0; k < 4; k++) {
                assertThat(v.frameTokens(s, 8 * k)).as("given key frame %d kept", k).containsExactly(given.get(k));
            }
        }
        assertThat(v.timings()).doesNotContainKey(GenerationStage.FIRST_FRAME)
                .containsKeys(GenerationStage.INTERPOLATION_3);
        // frame rate 4 from the same key frames and seed: 17 frames, the same tokens as every other frame of rate 8
        Video four = generator.generate(small().frameRate(4).seed(5).samples(2).givenFrames(given).build());
        assertThat(four.frameCount()).isEqualTo(17);
        for (int f = 0; f < 17; f++) {
            assertThat(four.frameTokens(1, f)).containsExactly(v.frameTokens(1, 2 * f));
        }
    }

    @Test
    void inputVideoOfFiveFramesToEightFpsRunsExactlyThreeRounds() {
        java.util.Random random = new java.util.Random(4);
        List<int[]> input = new ArrayList<>();
        for (int k = 0; k < 5; k++) {
            input.add(random.ints(frameLength, 0, imageVocab).toArray());
        }
        List<GenerationProgress> progress = Collections.synchronizedList(new ArrayList<>());
        Video v = generator.generate(small().inputVideo(input).frameRate(8).seed(5).listener(progress::add).build());
        assertThat(v.frameCount()).isEqualTo(33);
        for (int k = 0; k < 5; k++) {
            assertThat(v.frameTokens(0, 8 * k)).as("input frame %d at index %d", k, 8 * k)
                    .containsExactly(input.get(k));
        }
        assertThat(v.timings().keySet()).containsExactlyInAnyOrder(GenerationStage.INTERPOLATION_1,
                GenerationStage.INTERPOLATION_2, GenerationStage.INTERPOLATION_3);
        assertThat(progress).extracting(GenerationProgress::stage).doesNotContain(GenerationStage.FIRST_FRAME,
                GenerationStage.KEY_FRAMES).contains(GenerationStage.INTERPOLATION_1, GenerationStage.INTERPOLATION_3);
    }

    @Test
    void superResolutionLiftsEveryFrame() {
        GoldenSet dsrSet = GoldenSet.fromProperty("cogvideo.golden.dsr", "dsr-tiny-a");
        DsrConfig dsr;
        try (SatCheckpoint ckpt = SatCheckpoint.open(dsrSet.dir().resolve("checkpoint"))) {
            dsr = DsrConfig.fromSatConfig(ckpt.config());
        }
        try (VideoGenerator g = generatorBuilder().superResolutionModelDir(dsrSet.dir().resolve("checkpoint")).build()) {
            Video keys = generator.generate(small().frameRate(1).seed(3).build());
            List<int[]> given = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                given.add(keys.frameTokens(0, k));
            }
            List<GenerationProgress> progress = Collections.synchronizedList(new ArrayList<>());
            Video v = g.generate(small().frameRate(8).seed(5).givenFrames(given).listener(progress::add).build());
            assertThat(v.frameCount()).isEqualTo(33);
            for (int f = 0; f < 33; f++) {
                assertThat(v.frameTokens(0, f)).hasSize(dsr.highResTokens());
            }
            assertThat(v.timings()).containsKey(GenerationStage.SUPER_RESOLUTION);
            assertThat(progress).anyMatch(p -> p.stage() == GenerationStage.SUPER_RESOLUTION && p.step() == 33
                    && p.total() == 33);
            Video off = g.generate(small().frameRate(1).seed(5).givenFrames(given).superResolution(false).build());
            assertThat(off.frameTokens(0, 0)).hasSize(frameLength);
        }
    }

    @Test
    void cancelFromAnotherThreadAndByInterrupt() throws Exception {
        Cancellation cancel = new Cancellation();
        AtomicInteger steps = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(1);
        AtomicInteger stepsAtCancel = new AtomicInteger(-1);
        GenerationRequest r = small().frameRate(8).seed(1).cancellation(cancel).listener(p -> {
            if (steps.incrementAndGet() == 30) {
                started.countDown();
            }
        }).build();
        CompletableFuture<Video> f = CompletableFuture.supplyAsync(() -> generator.generate(r));
        assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
        stepsAtCancel.set(steps.get());
        cancel.cancel();
        assertThatThrownBy(() -> f.get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(GenerationCancelledException.class);
        assertThat(steps.get() - stepsAtCancel.get()).as("steps after cancel").isLessThanOrEqualTo(1);

        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            CountDownLatch running = new CountDownLatch(1);
            Future<Video> g = ex.submit(() -> generator.generate(small().frameRate(8).seed(2)
                    .listener(p -> running.countDown()).build()));
            assertThat(running.await(60, TimeUnit.SECONDS)).isTrue();
            g.cancel(true); // interrupts the generating thread
            ex.shutdown();
            assertThat(ex.awaitTermination(60, TimeUnit.SECONDS)).as("generation stopped after interrupt").isTrue();
        } finally {
            ex.shutdownNow();
        }
        // still usable
        assertThat(generator.generate(small().frameRate(1).seed(4).build()).frameCount()).isEqualTo(5);
    }

    @Test
    void concurrentRequestsMatchSequentialOnes() throws Exception {
        GenerationRequest r1 = small().frameRate(1).seed(21).build();
        GenerationRequest r2 = small().frameRate(1).seed(22).prompt("一条狗").build();
        Video s1 = generator.generate(r1);
        Video s2 = generator.generate(r2);
        ExecutorService ex = Executors.newFixedThreadPool(2);
        try {
            Future<Video> c1 = ex.submit(() -> generator.generate(r1));
            Future<Video> c2 = ex.submit(() -> generator.generate(r2));
            assertThat(java.util.Arrays.deepEquals(c1.get(300, TimeUnit.SECONDS).tokens(), s1.tokens())).as("same tokens").isTrue();
            assertThat(java.util.Arrays.deepEquals(c2.get(300, TimeUnit.SECONDS).tokens(), s2.tokens())).as("same tokens").isTrue();
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void badRequestsFailBeforeAnyWork() {
        assertThatThrownBy(() -> GenerationRequest.builder().prompt("  ")).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("prompt");
        assertThatThrownBy(() -> GenerationRequest.builder().frameRate(3)).hasMessageContaining("1, 2, 4, 8")
                .hasMessageContaining("got 3");
        assertThatThrownBy(() -> GenerationRequest.builder().samples(0)).hasMessageContaining("samples must be in [1, ");
        assertThatThrownBy(() -> GenerationRequest.builder().topKClusters(0)).hasMessageContaining("topKClusters");
        assertThatThrownBy(() -> GenerationRequest.builder().temperature(0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> GenerationRequest.builder().guidanceAlpha(-1)).hasMessageContaining("guidanceAlpha");
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> generator.generate(small().topKClusters(501).listener(p -> calls.incrementAndGet())
                .build())).hasMessageContaining("[1, 500]");
        assertThatThrownBy(() -> generator.generate(small().prompt("长".repeat(80)).build()))
                .hasMessageContaining("too long").hasMessageContaining("74");
        assertThatThrownBy(() -> generator.generate(small().givenFrames(List.of(new int[7])).build()))
                .hasMessageContaining("7 tokens");
        assertThat(calls.get()).isZero();
    }

    /** A stand-in for the VQ-VAE: one grey pixel per token (the tiny golden model has no matching decoder). */
    private static BufferedImage grey(int[] tokens) {
        int side = (int) Math.round(Math.sqrt(tokens.length));
        BufferedImage im = new BufferedImage(side, side, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < tokens.length; i++) {
            im.getRaster().setSample(i % side, i / side, 0, tokens[i] & 0xff);
        }
        return im;
    }

    @Test
    void videosHoldPixelsAndPartialResultsDecodeWhileTheGeneratorIsOpen() {
        // no decoder: tokens only, and a clear error for pixels
        Video tokensOnly = generator.generate(small().frameRate(1).seed(8).build());
        assertThat(tokensOnly.hasPixels()).isFalse();
        assertThatThrownBy(() -> tokensOnly.frames(0)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("tokens only").hasMessageContaining("VideoGenerator.decode");
        assertThatThrownBy(() -> generator.decode(tokensOnly)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("no image decoder");

        VideoGenerator g = generatorBuilder().imageDecoder(PipelineKit::grey).build();
        Video full = g.generate(small().frameRate(1).seed(8).build());
        assertThat(full.hasPixels()).isTrue();
        assertThat(full.tokens()).isDeepEqualTo(tokensOnly.tokens());
        assertThat(full.timings()).containsKey(GenerationStage.DECODING);
        // cancelled in the first interpolation round: the partial result is the key frames, tokens only
        Cancellation cancel = new Cancellation();
        GenerationCancelledException e = catchCancelled(() -> g.generate(small().frameRate(2).seed(8)
                .cancellation(cancel).listener(p -> {
                    if (p.stage() == GenerationStage.INTERPOLATION_1) {
                        cancel.cancel();
                    }
                }).build()));
        Video partial = e.partial();
        assertThat(partial.frameCount()).isEqualTo(5);
        assertThat(partial.hasPixels()).isFalse();
        Video decoded = g.decode(partial);
        assertThat(decoded.tokens()).isDeepEqualTo(partial.tokens());
        assertThat(decoded.frames(0)).hasSize(5);
        assertThat(decoded.frames(0).get(0).getWidth()).isEqualTo((int) Math.round(Math.sqrt(frameLength)));
        assertThat(decoded.timings()).containsKey(GenerationStage.DECODING);
        assertThatThrownBy(() -> g.decode(new Video(new int[][][] {{new int[3]}}, 1, 1, java.util.Map.of(),
                new int[0]))).hasMessageContaining("3 tokens");
        g.close();
        // videos do not depend on the generator: pixels stay readable after close
        assertThat(decoded.frames(0)).hasSize(5);
        assertThat(full.frames(0)).hasSize(5);
        assertThatThrownBy(() -> g.decode(partial)).hasMessageContaining("closed");
    }

    private static GenerationCancelledException catchCancelled(Runnable r) {
        try {
            r.run();
        } catch (GenerationCancelledException e) {
            return e;
        }
        throw new AssertionError("expected a cancellation");
    }

    /** An op pack no backend has, to check that requests needing it fail before any work. */
    private interface MissingPack extends OpPack {
    }

    @Test
    void requestsNeedingAMissingPackFailBeforeAnyWork() {
        ImageDecoder needy = ImageDecoder.needing(Set.of(MissingPack.class), PipelineKit::grey);
        try (VideoGenerator g = generatorBuilder().imageDecoder(needy).build()) {
            AtomicInteger events = new AtomicInteger();
            assertThatThrownBy(() -> g.generate(small().frameRate(1).seed(1).listener(p -> events.incrementAndGet())
                    .build())).isInstanceOf(CogVideoException.class).hasMessageContaining(backend.name())
                    .hasMessageContaining("MissingPack").hasMessageContaining("decoding frames to pixels");
            assertThat(events.get()).as("progress events before the error").isZero();
        }
    }
}
