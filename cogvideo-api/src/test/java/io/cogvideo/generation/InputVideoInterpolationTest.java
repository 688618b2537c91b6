package io.cogvideo.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.GenerationProgress;
import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.testkit.TinyPromptEncoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Interpolation of a given video ({@link GenerationRequest.Builder#inputVideo}) on the tiny golden checkpoint and the
 * reference backend: the request's validation, and one round from 5 frames (the longer runs are in
 * {@link io.cogvideo.testkit.PipelineKit}, which the CPU and CUDA backends run).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InputVideoInterpolationTest {
    private Backend backend;
    private VideoGenerator generator;
    private int frameLength;
    private int imageVocab;
    private final java.util.concurrent.atomic.AtomicInteger decoded = new java.util.concurrent.atomic.AtomicInteger();

    @BeforeAll
    void setUp() {
        GoldenSet golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        backend = CheckedBackend.wrap(new ReferenceBackend());
        CogVideoConfig config = GoldenModels.config(golden);
        int soi = golden.manifest().path("special_ids").path("start_of_image").asInt();
        imageVocab = config.imageVocabSize();
        frameLength = config.frameLength();
        generator = VideoGenerator.builder().modelDir(golden.dir().resolve("checkpoint"))
                .promptEncoder(new TinyPromptEncoder(imageVocab, soi)).backend(backend)
                .imageDecoder(tokens -> {
                    decoded.incrementAndGet();
                    return new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB);
                }).build();
    }

    @AfterAll
    void tearDown() {
        generator.close();
        backend.close();
    }

    private List<int[]> randomFrames(int n, long seed) {
        Random r = new Random(seed);
        List<int[]> frames = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] f = new int[frameLength];
            for (int j = 0; j < f.length; j++) {
                f[j] = r.nextInt(imageVocab);
            }
            frames.add(f);
        }
        return frames;
    }

    private static GenerationRequest.Builder small() {
        return GenerationRequest.builder().prompt("一只猫").maxBatchSize(8);
    }

    @Test
    void fiveFramesToTwoFpsRunOneRoundAndKeepTheInput() {
        // the three-round case (5 frames to 8 fps) runs in PipelineKit, on the faster backends
        List<int[]> input = randomFrames(5, 1);
        List<GenerationProgress> progress = Collections.synchronizedList(new ArrayList<>());
        decoded.set(0);
        Video v = generator.generate(small().inputVideo(input).frameRate(2).seed(7).listener(progress::add)
                .decodePixels(false).build());
        assertThat(v.hasPixels()).as("decodePixels(false): tokens only").isFalse();
        assertThat(decoded.get()).isZero();
        assertThat(generator.decode(v).frames(0)).hasSize(9);
        assertThat(decoded.get()).isEqualTo(9);
        assertThat(v.frameCount()).isEqualTo(9);
        assertThat(v.fps()).isEqualTo(2);
        for (int k = 0; k < 5; k++) {
            assertThat(v.frameTokens(0, 2 * k)).as("input frame %d at index %d", k, 2 * k)
                    .containsExactly(input.get(k));
        }
        for (int f = 0; f < 9; f++) {
            assertThat(java.util.Arrays.stream(v.frameTokens(0, f)).allMatch(t -> t >= 0 && t < imageVocab)).isTrue();
        }
        assertThat(v.timings().keySet()).containsExactly(GenerationStage.INTERPOLATION_1);
        Set<GenerationStage> stages = new TreeSet<>();
        progress.forEach(p -> stages.add(p.stage()));
        assertThat(stages).containsExactly(GenerationStage.INTERPOLATION_1);
    }

    @Test
    void thePlanStartsAtTheRoundAboveTheInputRate() {
        TinyPromptEncoder enc = new TinyPromptEncoder(imageVocab, 0);
        int[][] cases = {{5, 2, 1}, {5, 8, 1}, {9, 4, 2}, {9, 8, 2}, {17, 8, 3}, {0, 8, 1}};
        for (int[] c : cases) {
            GenerationRequest r = small().inputVideo(randomFrames(c[0], 1)).frameRate(c[1]).build();
            RequestPlan plan = new RequestPlan(null, r, CogVideoPipeline.textPlan(enc, r.prompt(), true, c[1]),
                    false, false);
            assertThat(plan.firstRound()).as("first round for %d frames", c[0]).isEqualTo(c[2]);
            assertThat(plan.rounds()).as("last round at %d fps", c[1]).isEqualTo(Integer.numberOfTrailingZeros(c[1]));
            assertThat(plan.startFrameRate()).isEqualTo(c[0] == 0 ? 1 : (c[0] - 1) / 4);
            assertThat(plan.interpolatesInput()).isEqualTo(c[0] > 0);
        }
    }

    @Test
    void requestValidationNamesTheValueAndTheAllowedOnes() {
        assertThatThrownBy(() -> small().inputVideo(randomFrames(6, 1)))
                .isInstanceOf(CogVideoException.class)
                .hasMessage("input video must have 5, 9 or 17 frames (1, 2 or 4 fps over 4 s), got 6 frames");
        assertThatThrownBy(() -> small().inputVideo(randomFrames(9, 1)).frameRate(2).build())
                .isInstanceOf(CogVideoException.class)
                .hasMessage("frameRate must be above the input video's 2 fps (9 frames) to interpolate it; allowed: 4, "
                        + "8, got 2");
        assertThatThrownBy(() -> small().inputVideo(randomFrames(17, 1)).frameRate(1).build())
                .isInstanceOf(CogVideoException.class).hasMessageContaining("allowed: 8, got 1");
        assertThatThrownBy(() -> small().inputVideo(randomFrames(5, 1)).givenFrames(randomFrames(1, 2)).build())
                .isInstanceOf(CogVideoException.class).hasMessageContaining("cannot be combined");
        GenerationRequest ok = small().inputVideo(randomFrames(17, 1)).build();
        assertThat(ok.inputFrameRate()).isEqualTo(4);
        assertThat(ok.toBuilder().build().inputVideo()).hasSize(17);
        // frame contents are checked against the model before any work
        List<int[]> shortFrame = randomFrames(5, 1);
        shortFrame.set(3, new int[frameLength - 1]);
        assertThatThrownBy(() -> generator.generate(small().inputVideo(shortFrame).frameRate(2).build()))
                .isInstanceOf(CogVideoException.class)
                .hasMessageStartingWith("input video frame 3 has " + (frameLength - 1) + " tokens; frames have "
                        + frameLength);
        List<int[]> badToken = randomFrames(5, 1);
        badToken.get(4)[0] = imageVocab;
        assertThatThrownBy(() -> generator.generate(small().inputVideo(badToken).frameRate(2).build()))
                .isInstanceOf(CogVideoException.class)
                .hasMessageContaining("input video frame 4 holds token " + imageVocab);
    }
}
