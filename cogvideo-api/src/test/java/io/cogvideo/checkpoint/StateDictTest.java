package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.spi.TensorData;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StateDictTest {
    private static final Path FILE = Path.of("/ckpt/model.pt");

    private static StateDict sample() {
        Map<String, TensorData> m = new LinkedHashMap<>();
        for (int i = 0; i < 8; i++) {
            for (String n : new String[] {"weight", "bias"}) {
                String key = "transformer.layers." + i + ".mlp.dense_h_to_4h." + n;
                m.put(key, TensorData.ofFloats(key, new float[12], 4, 3));
            }
        }
        m.put("transformer.final_layernorm.weight", TensorData.ofFloats("f", new float[3], 3));
        return StateDict.of(FILE, m);
    }

    @Test
    void basicAccessorsKeepOrder() {
        StateDict sd = sample();
        assertThat(sd.size()).isEqualTo(17);
        assertThat(sd.keys()).first().isEqualTo("transformer.layers.0.mlp.dense_h_to_4h.weight");
        assertThat(sd.contains("transformer.final_layernorm.weight")).isTrue();
        assertThat(sd.contains("nope")).isFalse();
        assertThat(sd.asMap()).hasSize(17);
        assertThatThrownBy(() -> sd.asMap().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThat(sd.require("transformer.final_layernorm.weight", 3).shape()).containsExactly(3);
    }

    @Test
    void missingKeyNamesFileKeyAndUpToFiveSimilarKeys() {
        StateDict sd = sample();
        assertThatThrownBy(() -> sd.get("transformer.layers.3.mlp.dense_h_to_4h.weigth"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(FILE.toString())
                .hasMessageContaining("'transformer.layers.3.mlp.dense_h_to_4h.weigth'")
                .hasMessageContaining("similar keys: [transformer.layers.3.mlp.dense_h_to_4h.weight")
                .satisfies(e -> {
                    String similar = e.getMessage().substring(e.getMessage().indexOf("similar keys: ["));
                    assertThat(similar.split(",")).hasSize(5);
                });
        assertThatThrownBy(() -> sd.get("zzz")).isInstanceOf(CheckpointException.class)
                .hasMessageNotContaining("similar keys");
    }

    @Test
    void requireReportsExpectedAndFoundShape() {
        StateDict sd = sample();
        assertThatThrownBy(() -> sd.require("transformer.layers.0.mlp.dense_h_to_4h.bias", 3, 4))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(FILE.toString())
                .hasMessageContaining("'transformer.layers.0.mlp.dense_h_to_4h.bias'")
                .hasMessageContaining("has shape [4, 3]")
                .hasMessageContaining("shape [3, 4] is expected");
    }

    @Test
    void closedStateDictRefusesAccess() {
        StateDict sd = sample();
        TensorData kept = sd.get("transformer.final_layernorm.weight");
        sd.close();
        sd.close();
        assertThatThrownBy(sd::keys).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThat(kept.numel()).isEqualTo(3);
    }
}
