package io.cogvideo.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer against the project's reader and the format's rules (8-byte aligned header, offsets, metadata). */
class SafetensorsWriterTest {

    @Test
    void roundTripsThroughTheReader(@TempDir Path dir) throws IOException {
        Map<String, SafetensorsWriter.Entry> t = new LinkedHashMap<>();
        float[] big = new float[300_001];
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) Math.sin(i);
        }
        t.put("a.weight", new SafetensorsWriter.Entry(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        t.put("b", new SafetensorsWriter.Entry(big, big.length));
        t.put("scalar", new SafetensorsWriter.Entry(new float[] {7f}));
        Path f = dir.resolve("model.safetensors");
        SafetensorsWriter.write(f, t, Map.of("step", "12"));
        try (StateDict sd = SafetensorsReader.read(f)) {
            assertThat(sd.keys()).containsExactly("a.weight", "b", "scalar");
            assertThat(sd.get("a.weight").shape()).containsExactly(2, 3);
            assertThat(sd.get("a.weight").dtype()).isEqualTo(DType.FLOAT32);
            assertThat(sd.get("a.weight").toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(java.util.Arrays.equals(sd.get("b").toFloatArray(), big)).as("300001 values equal").isTrue();
            assertThat(sd.get("scalar").shape()).isEmpty();
            assertThat(sd.get("scalar").toFloatArray()).containsExactly(7f);
        }
        assertThat(SafetensorsWriter.readMetadata(f)).containsEntry("step", "12");
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).isZero();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("model.safetensors");
        }
    }

    @Test
    void writesFloat16RoundedToNearestEven(@TempDir Path dir) {
        // exact halves, the smallest subnormal, ties to even (2049 -> 2048, 2051 -> 2052), a value below half of the
        // smallest subnormal (-> 0), the largest half
        float[] v = {1f, -2.5f, 0.333333f, 5.9604645e-8f, 2049f, 2051f, 1e-9f, 65504f, 0f};
        float[] want = {1f, -2.5f, 0.33325195f, 5.9604645e-8f, 2048f, 2052f, 0f, 65504f, 0f};
        Map<String, SafetensorsWriter.Entry> t = new LinkedHashMap<>();
        t.put("h", new SafetensorsWriter.Entry(v, 3, 3));
        Path f = dir.resolve("h.safetensors");
        SafetensorsWriter.write(f, t, Map.of(), true);
        try (StateDict sd = SafetensorsReader.read(f)) {
            assertThat(sd.get("h").dtype()).isEqualTo(DType.FLOAT16);
            assertThat(sd.get("h").toFloatArray()).containsExactly(want);
        }
        t.put("big", new SafetensorsWriter.Entry(new float[] {70000f}, 1));
        assertThatThrownBy(() -> SafetensorsWriter.write(dir.resolve("big.safetensors"), t, Map.of(), true))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("'big'").hasMessageContaining("65504");
    }

    @Test
    void rejectsAShapeThatDoesNotHoldTheValues() {
        assertThatThrownBy(() -> new SafetensorsWriter.Entry(new float[5], 2, 3)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("[2, 3] does not hold 5 values");
    }
}
