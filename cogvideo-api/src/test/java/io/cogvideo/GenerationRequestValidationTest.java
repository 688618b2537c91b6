package io.cogvideo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Every validated field of {@link GenerationRequest.Builder} is rejected with a message that names the offending value
 * and the allowed range, and the edge values of each range are accepted.
 */
class GenerationRequestValidationTest {

    private static GenerationRequest.Builder valid() {
        return GenerationRequest.builder().prompt("一只猫");
    }

    private static void rejects(Consumer<GenerationRequest.Builder> setter, String message) {
        assertThatThrownBy(() -> setter.accept(valid())).isExactlyInstanceOf(CogVideoException.class)
                .hasMessage(message);
    }

    @Test
    void prompt() {
        rejects(b -> b.prompt(null), "prompt must not be empty or blank, got null");
        rejects(b -> b.prompt(""), "prompt must not be empty or blank, got \"\"");
        rejects(b -> b.prompt(" \t"), "prompt must not be empty or blank, got \" \t\"");
        assertThatThrownBy(() -> GenerationRequest.builder().build()).isExactlyInstanceOf(CogVideoException.class)
                .hasMessage("prompt is required");
        assertThat(valid().prompt("x").build().prompt()).isEqualTo("x");
    }

    @Test
    void frameRate() {
        for (int fps : new int[] {0, 3, 5, 16, -1, Integer.MAX_VALUE}) {
            rejects(b -> b.frameRate(fps), "frameRate must be one of 1, 2, 4, 8 (5, 9, 17, 33 frames over 4 s), got "
                    + fps);
        }
        int[] frames = {5, 9, 17, 33};
        int[] rates = {1, 2, 4, 8};
        for (int i = 0; i < rates.length; i++) {
            GenerationRequest r = valid().frameRate(rates[i]).build();
            assertThat(r.frameRate()).isEqualTo(rates[i]);
            assertThat(r.frameCount()).as(rates[i] + " fps").isEqualTo(frames[i]);
        }
    }

    @Test
    void countsMustBeAtLeastOne() {
        for (int bad : new int[] {0, -1, Integer.MIN_VALUE}) {
            rejects(b -> b.samples(bad), "samples must be in [1, 1024], got " + bad);
            rejects(b -> b.topKClusters(bad), "topKClusters must be >= 1, got " + bad);
            rejects(b -> b.firstFrameTopKClusters(bad), "firstFrameTopKClusters must be >= 1, got " + bad);
            rejects(b -> b.maxBatchSize(bad), "maxBatchSize must be >= 1, got " + bad);
        }
        GenerationRequest r = valid().samples(1).topKClusters(1).firstFrameTopKClusters(1).maxBatchSize(1).build();
        assertThat(new int[] {r.samples(), r.topKClusters(), r.firstFrameTopKClusters(), r.maxBatchSize()})
                .containsExactly(1, 1, 1, 1);
        // the upper bound of the cluster counts depends on the model's cluster table (checked by the pipeline)
        assertThat(valid().topKClusters(Integer.MAX_VALUE).build().topKClusters()).isEqualTo(Integer.MAX_VALUE);
    }

    @Test
    void temperaturesMustBePositiveAndFinite() {
        // 4.9e-324 (Double.MIN_VALUE) used to pass here and underflow to 0 in temperature * temperature2 later
        for (double bad : new double[] {0.0, -0.0, -1.0, Double.NaN, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY, Double.MIN_VALUE, 9.9e-5, 10000.001, Double.MAX_VALUE}) {
            rejects(b -> b.temperature(bad), "temperature must be > 0, in [1.0E-4, 10000.0], got " + bad);
            rejects(b -> b.firstFrameTemperature(bad), "firstFrameTemperature must be > 0, in [1.0E-4, 10000.0], "
                    + "got " + bad);
            rejects(b -> b.temperature2(bad), "temperature2 must be > 0, in [1.0E-4, 10000.0], got " + bad);
        }
        rejects(b -> b.temperature(4.9e-324), "temperature must be > 0, in [1.0E-4, 10000.0], got 4.9E-324");
        GenerationRequest r = valid().temperature(GenerationRequest.MIN_TEMPERATURE)
                .firstFrameTemperature(GenerationRequest.MAX_TEMPERATURE).temperature2(GenerationRequest.MIN_TEMPERATURE)
                .build();
        assertThat(r.temperature()).isEqualTo(1e-4);
        assertThat(r.firstFrameTemperature()).isEqualTo(1e4);
        assertThat(r.temperature2() * r.temperature()).as("no underflow").isPositive();
    }

    @Test
    void samplesHaveAnUpperBound() {
        rejects(b -> b.samples(1_000_000), "samples must be in [1, 1024], got 1000000");
        rejects(b -> b.samples(Integer.MAX_VALUE), "samples must be in [1, 1024], got 2147483647");
        rejects(b -> b.samples(Integer.MIN_VALUE), "samples must be in [1, 1024], got -2147483648");
        assertThat(valid().samples(GenerationRequest.MAX_SAMPLES).build().samples()).isEqualTo(1024);
    }

    @Test
    void guidanceAlphaMustBeNonNegativeAndFinite() {
        for (double bad : new double[] {-1e-9, -3.0, Double.NaN, Double.POSITIVE_INFINITY}) {
            rejects(b -> b.guidanceAlpha(bad), "guidanceAlpha must be >= 0, got " + bad);
        }
        assertThat(valid().guidanceAlpha(0).build().guidanceAlpha()).isZero();
        assertThat(valid().guidanceAlpha(Double.MAX_VALUE).build().guidanceAlpha()).isEqualTo(Double.MAX_VALUE);
    }

    @Test
    void textBoostMustBeFinite() {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            rejects(b -> b.textBoost(bad), "textBoost must be finite, got " + bad);
        }
        for (double ok : new double[] {-1e30, 0, 1.4}) {
            assertThat(valid().textBoost(ok).build().textBoost()).isEqualTo(ok);
        }
    }

    @Test
    void givenFrames() {
        List<int[]> five = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            five.add(new int[400]);
        }
        rejects(b -> b.givenFrames(five), "at most 4 given key frames (of 5), got 5");
        List<int[]> withNull = Arrays.asList(new int[400], null);
        rejects(b -> b.givenFrames(withNull), "given frame 1 is null");
        assertThatThrownBy(() -> valid().givenFrames(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("frames");
        assertThat(valid().givenFrames(List.of()).build().givenFrames()).isEmpty();
        assertThat(valid().givenFrames(five.subList(0, 4)).build().givenFrames()).hasSize(4);
    }

    @Test
    void givenFramesAreCopied() {
        int[] frame = {1, 2, 3};
        List<int[]> frames = new ArrayList<>(List.of(frame));
        GenerationRequest r = valid().givenFrames(frames).build();
        frame[0] = 99;
        frames.clear();
        assertThat(r.givenFrames()).hasSize(1);
        assertThat(r.givenFrames().get(0)).containsExactly(1, 2, 3);
        r.givenFrames().get(0)[1] = 42;
        assertThat(r.givenFrames().get(0)).containsExactly(1, 2, 3);
    }

    @Test
    void listenerAndCancellationMustNotBeNull() {
        assertThatThrownBy(() -> valid().listener(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("listener");
        assertThatThrownBy(() -> valid().cancellation(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("cancellation");
    }

    @Test
    void defaultsAreTheReleasedPipelineAndSurviveToBuilder() {
        GenerationRequest r = valid().seed(7).build();
        assertThat(r.frameRate()).isEqualTo(8);
        assertThat(r.samples()).isEqualTo(1);
        assertThat(r.topKClusters()).isEqualTo(12);
        assertThat(r.firstFrameTopKClusters()).isEqualTo(16);
        assertThat(r.temperature()).isEqualTo(1.05);
        assertThat(r.firstFrameTemperature()).isEqualTo(1.0);
        assertThat(r.temperature2()).isEqualTo(0.89);
        assertThat(r.guidance()).isTrue();
        assertThat(r.guidanceAlpha()).isEqualTo(3.0);
        assertThat(r.textBoost()).isEqualTo(1.4);
        assertThat(r.maxBatchSize()).isEqualTo(8);
        assertThat(r.superResolution()).isTrue();
        assertThat(valid().build().seed()).isNull();
        GenerationRequest copy = r.toBuilder().build();
        assertThat(copy.seed()).isEqualTo(7L);
        assertThat(copy.prompt()).isEqualTo(r.prompt());
        assertThat(copy.frameCount()).isEqualTo(33);
    }
}
