package io.cogvideo.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.DsrModel;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import io.cogvideo.testkit.ReferenceBackend;
import org.junit.jupiter.api.Test;

/** Capability lookup: {@link OpPacks#require}'s message names the backend, the pack and the purpose. */
class OpPacksTest {

    @Test
    void requireNamesBackendPackAndPurpose() {
        try (CheckedBackend b = CheckedBackend.wrap(ReferenceBackend.without(VqVaeOps.class), true)) {
            assertThatThrownBy(() -> OpPacks.require(b, VqVaeOps.class, "decoding frames to pixels"))
                    .isExactlyInstanceOf(CogVideoException.class)
                    .hasMessage("backend 'reference' does not provide the VqVaeOps op pack (VQ-VAE image operations "
                            + "(the image tokenizer: encoding pictures, decoding frames)), needed for decoding frames "
                            + "to pixels. Choose a backend that has it (the cpu backend has every pack: "
                            + "-Dcogvideo.backend=cpu) or leave out what needs it.");
            assertThat(OpPacks.require(b, FusedAttention.class, "x")).isNotNull();
            assertThat(OpPacks.has(b, VqVaeOps.class)).isFalse();
            assertThat(OpPacks.has(b, LocalAttention.class)).isTrue();
        }
    }

    @Test
    void withoutLeavesOutExactlyTheNamedPacks() {
        Backend none = ReferenceBackend.without(FusedAttention.class, LocalAttention.class, VqVaeOps.class,
                TrainingOps.class, VqVaeTrainingOps.class);
        for (Class<? extends OpPack> p : OpPacks.known()) {
            assertThat(none.find(p)).as(p.getSimpleName()).isEmpty();
        }
        assertThat(none.description()).contains("packs []");
        Backend all = new ReferenceBackend();
        for (Class<? extends OpPack> p : OpPacks.known()) {
            assertThat(all.find(p)).as(p.getSimpleName()).isPresent();
        }
        assertThatThrownBy(() -> ReferenceBackend.without(OpPack.class)).isExactlyInstanceOf(CogVideoException.class)
                .hasMessageContaining("no op pack io.cogvideo.spi.OpPack to leave out");
    }

    @Test
    void describeAndKnown() {
        assertThat(OpPacks.known()).containsExactly(FusedAttention.class, LocalAttention.class, VqVaeOps.class,
                TrainingOps.class, VqVaeTrainingOps.class);
        assertThat(OpPacks.describe(FusedAttention.class))
                .isEqualTo("fused dual-channel attention (the CogVideo transformer)");
        assertThat(OpPacks.describe(LocalAttention.class)).isEqualTo("local attention (CogView2 super-resolution)");
        assertThat(OpPacks.describe(OpPack.class)).isEqualTo(OpPack.class.getName());
    }

    @Test
    void modelsFailBeforeAnyWorkWhenAPackIsMissing() {
        GoldenSet golden = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        try (CheckedBackend b = CheckedBackend.wrap(ReferenceBackend.without(FusedAttention.class), true)) {
            assertThatThrownBy(() -> GoldenModels.load(golden, b)).isExactlyInstanceOf(CogVideoException.class)
                    .hasMessageStartingWith("backend 'reference' does not provide the FusedAttention op pack")
                    .hasMessageContaining("needed for the CogVideo transformer.");
        }
        GoldenSet dsr = GoldenSet.fromProperty("cogvideo.golden.dsr", "dsr-tiny-a");
        try (CheckedBackend b = CheckedBackend.wrap(ReferenceBackend.without(LocalAttention.class), true)) {
            assertThatThrownBy(() -> DsrModel.load(dsr.dir().resolve("checkpoint"), b))
                    .isExactlyInstanceOf(CogVideoException.class)
                    .hasMessageStartingWith("backend 'reference' does not provide the LocalAttention op pack")
                    .hasMessageContaining("needed for super-resolution.");
        }
    }
}
