package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.cogvideo.CogVideoException;
import org.junit.jupiter.api.Test;

/** Warmup and decay as SwissArmyTransformer's {@code AnnealingLR}, evaluated by hand. */
class LearningRateScheduleTest {

    @Test
    void warmupThenCosineToTheFloor() {
        // 1000 steps, warmup 10% = 100 steps, floor 10%
        LearningRateSchedule s = LearningRateSchedule.cosine(2e-4, 0.1, 1000);
        assertThat(s.warmupSteps()).isEqualTo(100);
        assertThat(s.lr(1)).isCloseTo(2e-6, within(1e-18));
        assertThat(s.lr(50)).isCloseTo(1e-4, within(1e-18));
        assertThat(s.lr(100)).isCloseTo(2e-4, within(1e-18));
        // t = 600: r = 500 / 1000 = 0.5, cos = 0 -> 2e-4 * (0.1 + 0.9 * 0.5) = 1.1e-4
        assertThat(s.lr(600)).isCloseTo(1.1e-4, within(1e-15));
        // t = 1000: r = 0.9 (AnnealingLR divides by the whole run) -> 2e-4 * (0.1 + 0.9 * (cos(0.9 pi) + 1) / 2)
        assertThat(s.lr(1000)).isCloseTo(2e-4 * (0.1 + 0.9 * (Math.cos(0.9 * Math.PI) + 1) / 2), within(1e-18));
        assertThat(s.lr(5000)).isCloseTo(2e-5, within(1e-18));
    }

    @Test
    void originalWarmupFractionAndOtherStyles() {
        assertThat(LearningRateSchedule.cosine(2e-4, 0.001, 500_000).warmupSteps()).isEqualTo(500);
        assertThat(LearningRateSchedule.cosine(2e-4, 0.001, 200).warmupSteps()).isZero();
        assertThat(LearningRateSchedule.cosine(2e-4, 0.001, 200).lr(1)).isCloseTo(2e-4 * (0.1 + 0.9
                * (Math.cos(Math.PI / 200) + 1) / 2), within(1e-18));
        LearningRateSchedule lin = new LearningRateSchedule(1.0, 0, 10, LearningRateSchedule.Decay.LINEAR, 0);
        assertThat(lin.lr(5)).isCloseTo(0.5, within(1e-15));
        assertThat(LearningRateSchedule.constant(3e-4, 10).lr(7)).isEqualTo(3e-4);
        assertThatThrownBy(() -> LearningRateSchedule.cosine(2e-4, 1.5, 10)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("warmup fraction = 1.5").hasMessageContaining("[0, 1]");
        assertThatThrownBy(() -> lin.lr(0)).hasMessageContaining("step 0");
    }
}
