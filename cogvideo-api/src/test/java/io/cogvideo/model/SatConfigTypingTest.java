package io.cogvideo.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cogvideo.CogVideoException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Typed parsing of {@code model_config.json} (issue #18): no wrap-around, no truncation, no ClassCastException. */
class SatConfigTypingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Map<String, Object> config(String numLayers, String layout) throws Exception {
        String text = "{\"num_layers\": " + numLayers + ", \"hidden_size\": 64, \"num_attention_heads\": 4,"
                + " \"vocab_size\": 30000, \"layout\": " + layout + "}";
        return JSON.readValue(text, new TypeReference<Map<String, Object>>() { });
    }

    @Test
    void validConfigParses() throws Exception {
        CogVideoConfig c = CogVideoConfig.fromSatConfig(config("2", "[64, 464, 2064]"));
        assertThat(c.numLayers()).isEqualTo(2);
        assertThat(c.frameCount()).isEqualTo(5);
        assertThat(DsrConfig.fromSatConfig(config("2", "[96, 496, 4096]")).highResGrid()).isEqualTo(60);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "2147483647 | 2147483647 is out of range; allowed: [1, 4096]",
        "4294967298 | 4294967298 is out of range",
        "1.9 | 1.9 is not an integer",
        "1e30 | 1.0E30 is out of range",
        "\"24\" | the string \"24\" is not a number",
        "true | the boolean true is not a number",
        "{} | an object is not a number",
        "0 | 0 is out of range; allowed: [1, 4096]"})
    void numLayersIsTypedAndRanged(String value, String message) throws Exception {
        Map<String, Object> c = config(value, "[64, 464, 2064]");
        assertThatThrownBy(() -> CogVideoConfig.fromSatConfig(c)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("'num_layers'").hasMessageContaining(message);
        assertThatThrownBy(() -> DsrConfig.fromSatConfig(c)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("'num_layers'").hasMessageContaining(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"64,464,2064\" | 'layout' = the string \"64,464,2064\" must be a list of 3 integers",
        "{\"a\": 1} | 'layout' = an object must be a list of 3 integers",
        "[64, 464] | 'layout' has 2 entries",
        "[64, 464.5, 2064] | 'layout[1]' = 464.5 is not an integer",
        "[64, 40, 2064] | must be increasing",
        "[64, 464, 4294967298] | 'layout[2]' = 4294967298 is out of range"})
    void layoutIsTyped(String layout, String message) throws Exception {
        Map<String, Object> c = config("2", layout);
        assertThatThrownBy(() -> CogVideoConfig.fromSatConfig(c)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(message);
        assertThatThrownBy(() -> DsrConfig.fromSatConfig(c)).isInstanceOf(CogVideoException.class);
    }

    @Test
    void missingFieldIsNamed() throws Exception {
        Map<String, Object> c = JSON.readValue("{\"num_layers\": 2}", new TypeReference<Map<String, Object>>() { });
        assertThatThrownBy(() -> CogVideoConfig.fromSatConfig(c)).hasMessageContaining("'vocab_size' is missing; allowed: an integer in [1, 16777216]");
    }

    @Test
    void loadingACheckpointFolderNamesItsConfigFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("model_config.json"), "{\"num_layers\": 1.9, \"hidden_size\": 64,"
                + " \"num_attention_heads\": 4, \"vocab_size\": 30000, \"layout\": [64, 464, 2064]}");
        // an empty safetensors file: a header of length 2 holding {}
        java.nio.file.Files.write(dir.resolve("model.safetensors"), new byte[] {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        try (io.cogvideo.checkpoint.SatCheckpoint ckpt = io.cogvideo.checkpoint.SatCheckpoint.open(dir)) {
            assertThatThrownBy(() -> ckpt.parseConfig(CogVideoConfig::fromSatConfig))
                    .isInstanceOf(io.cogvideo.checkpoint.CheckpointException.class)
                    .hasMessageContaining(dir.resolve("model_config.json").toString())
                    .hasMessageContaining("'num_layers' = 1.9 is not an integer");
        }
    }
}
