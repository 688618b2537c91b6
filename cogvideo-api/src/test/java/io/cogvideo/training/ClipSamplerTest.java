package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.tokenizer.PromptEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Multi-frame-rate clip choice: duration, frame interval, text prefix, stage-2 targets, determinism. */
class ClipSamplerTest {
    /** Text ids 1000 + code point mod 500; {@code <n>} = 999; {@code <start_of_image>} = 998. */
    static final PromptEncoder ENCODER = new PromptEncoder() {
        @Override
        public int[] encode(String text) {
            return text.codePoints().map(cp -> cp == '\n' ? 999 : 1000 + cp % 500).toArray();
        }

        @Override
        public int startOfImage() {
            return 998;
        }

        @Override
        public int newline() {
            return 999;
        }
    };
    /** 16 text slots, 2x2 frames, 5 frames. */
    static final TrainingLayout LAYOUT = new TrainingLayout(16, 4, 5, 997, 998);

    /** A video whose frame i has every token equal to i. */
    static TrainingSample video(String caption, double fps, int frames) {
        List<int[]> f = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            f.add(new int[] {i, i, i, i});
        }
        return TrainingSample.ofTokens(caption, fps, f);
    }

    @Test
    void picksTheLongestDurationTheVideoHoldsAndSpansIt() {
        ClipSampler s = ClipSampler.forStage(LAYOUT, ENCODER, 1);
        ClipSampler.Clip c = s.choose(video("a", 8, 33), 1).orElseThrow();
        assertThat(c.durationSeconds()).isEqualTo(4.0);
        assertThat(c.frameIndices()).containsExactly(0, 8, 16, 24, 32);
        assertThat(c.intervalSeconds()).isEqualTo(1.0);

        // 20 frames at 8 fps span 2.375 s: 2 s windows (interval 0.5 s = 4 frames), start within the 3 frames of slack
        ClipSampler.Clip d = s.choose(video("a", 8, 20), 7).orElseThrow();
        assertThat(d.durationSeconds()).isEqualTo(2.0);
        int[] idx = d.frameIndices();
        assertThat(idx[0]).isBetween(0, 3);
        for (int k = 0; k < 5; k++) {
            assertThat(idx[k]).isEqualTo(idx[0] + 4 * k);
        }
        assertThat(d.startSeconds()).isEqualTo(idx[0] / 8.0);
    }

    @Test
    void aVideoTooShortOrTooSparseForEveryDurationIsSkipped() {
        ClipSampler s = ClipSampler.forStage(LAYOUT, ENCODER, 1);
        // 4 fps: 0.5 s would repeat frames (0.5 frame apart), 1 s needs 5 frames
        assertThat(s.fittingDurations(video("a", 4, 4))).isEmpty();
        assertThat(s.choose(video("a", 4, 4), 1)).isEmpty();
        assertThat(s.fittingDurations(video("a", 4, 5))).containsExactly(1.0);
        List<Integer> skipped = new ArrayList<>();
        TrainingDataset ds = TrainingDataset.ofSamples(List.of(video("a", 4, 4), video("b", 8, 33)), s, 1, skipped);
        assertThat(ds.size()).isEqualTo(1);
        assertThat(skipped).containsExactly(0);
        assertThatThrownBy(() -> TrainingDataset.ofSamples(List.of(video("a", 4, 4)), s, 1, new ArrayList<>()))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("none of the 1 videos");
    }

    @Test
    void seededAndDeterministic() {
        ClipSampler s = new ClipSampler(LAYOUT, ENCODER, ClipSampler.STAGE1_DURATIONS, true);
        TrainingSample v = video("a", 8, 40);
        Set<Double> durations = new HashSet<>();
        Set<Integer> starts = new HashSet<>();
        for (long seed = 0; seed < 200; seed++) {
            ClipSampler.Clip c = s.choose(v, seed).orElseThrow();
            assertThat(s.choose(v, seed).orElseThrow()).isEqualTo(c);
            durations.add(c.durationSeconds());
            starts.add(c.frameIndices()[0]);
            int[] idx = c.frameIndices();
            assertThat(idx[4] - idx[0]).isEqualTo((int) Math.round(c.durationSeconds() * 8));
            assertThat(idx[4]).isLessThan(40);
        }
        assertThat(durations).containsExactlyInAnyOrder(4.0, 2.0, 1.0, 0.5);
        assertThat(starts.size()).isGreaterThan(5);
        assertThat(s.example(v, 1, 42)).isEqualTo(s.example(v, 1, 42));
    }

    @Test
    void textIsDurationNewlineCaptionAsTheOriginalData() {
        ClipSampler s = ClipSampler.forStage(LAYOUT, ENCODER, 1);
        int[] dur = ENCODER.duration(0.5);
        assertThat(dur).containsExactly(ENCODER.encode("0.5秒"));
        int[] text = s.text(0.5, "ab\ncd");
        int[] expected = new int[dur.length + 1 + 4];
        System.arraycopy(dur, 0, expected, 0, dur.length);
        expected[dur.length] = 999;
        System.arraycopy(ENCODER.encode("abcd"), 0, expected, dur.length + 1, 4);
        assertThat(text).containsExactly(expected);
        // a long caption keeps textSlots - |duration| - 3 tokens (cogdata's truncation)
        assertThat(s.text(4.0, "x".repeat(100))).hasSize(16 - 2);
    }

    @Test
    void stageTwoGivesFramesZeroTwoFourAndTrainsOneAndThree() {
        ClipSampler s = ClipSampler.forStage(LAYOUT, ENCODER, 2);
        assertThat(s.durations()).containsExactly(2.0, 1.0, 0.5);
        TrainingSample v = video("cat", 8, 17);
        ClipSampler.Clip c = s.choose(v, 3).orElseThrow();
        assertThat(c.durationSeconds()).isEqualTo(2.0);
        assertThat(c.frameIndices()).containsExactly(0, 4, 8, 12, 16);
        TrainingExample e = s.example(v, 2, 3).orElseThrow();
        int[] in = e.inputIds();
        int[] labels = e.labels();
        float[] mask = e.lossMask();
        for (int k = 0; k < 5; k++) {
            int start = LAYOUT.frameStart(k);
            assertThat(in[start]).isEqualTo(998);
            // labels of frame k's block are its 4 tokens, all equal to the chosen source frame index
            assertThat(Arrays.copyOfRange(labels, start, start + 4)).containsOnly(c.frameIndices()[k]);
            float expected = k == 1 || k == 3 ? 1f : 0f;
            assertThat(Arrays.copyOfRange(mask, start, start + 4)).containsOnly(expected);
        }
        assertThat(LAYOUT.givenFrames(2)).containsExactly(0, 2, 4);
        assertThat(e.stage()).isEqualTo(2);
    }
}
