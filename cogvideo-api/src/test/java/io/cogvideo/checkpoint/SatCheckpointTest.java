package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SatCheckpointTest {
    @TempDir
    Path tmp;

    private static final String CONFIG = "{\"model_class\":\"CogVideoCacheModel\",\"num_layers\":2,"
            + "\"layout\":[64,464,2064],\"hidden_dropout\":0.1}";

    /** A complete folder: latest = tag, model_config.json, tag/mp_rank_00_model_states.pt. */
    private Path folder(String tag) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        Files.writeString(dir.resolve("latest"), tag + "\n");
        Files.writeString(dir.resolve("model_config.json"), CONFIG);
        Path iter = Files.createDirectories(dir.resolve(tag));
        PickleWriter w = new PickleWriter().proto(2).emptyDict().str("module").emptyDict();
        w.str("transformer.final_layernorm.weight").tensor("HalfStorage", "0", 2).setitem().setitem().stop();
        new TorchZip("mp_rank_00_model_states").pickle(w).storage("0", new byte[] {0, 0x3c, 0, (byte) 0xc0})
                .write(iter.resolve(SatCheckpoint.STATES_FILE));
        return dir;
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(Path dir, Path culprit) {
        return assertThatThrownBy(() -> SatCheckpoint.open(dir))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(culprit.toString())
                .satisfies(e -> assertThat(((CheckpointException) e).file()).isEqualTo(culprit));
    }

    @Test
    void opensFolderAndLoadsModuleLazilyOnce() throws IOException {
        Path dir = folder("12345");
        try (SatCheckpoint c = SatCheckpoint.open(dir)) {
            assertThat(c.latest()).isEqualTo("12345");
            assertThat(c.dir()).isEqualTo(dir);
            assertThat(c.config()).containsEntry("num_layers", 2).containsEntry("layout", List.of(64, 464, 2064))
                    .containsEntry("hidden_dropout", 0.1);
            assertThatThrownBy(() -> c.config().put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
            @SuppressWarnings("unchecked")
            List<Object> layout = (List<Object>) c.config().get("layout");
            assertThatThrownBy(() -> layout.add(1)).isInstanceOf(UnsupportedOperationException.class);
            assertThat(c.configJson().get("model_class").asText()).isEqualTo("CogVideoCacheModel");
            StateDict sd = c.stateDict();
            assertThat(c.stateDict()).isSameAs(sd);
            assertThat(sd.require("transformer.final_layernorm.weight", 2).toFloatArray()).containsExactly(1f, -2f);
        }
    }

    @Test
    void releaseTag() throws IOException {
        assertThat(SatCheckpoint.open(folder("release")).stateDict().size()).isEqualTo(1);
    }

    @Test
    void folderMissing() {
        Path dir = tmp.resolve("absent");
        assertOpenFails(dir, dir).hasMessageContaining("does not exist");
    }

    @Test
    void latestMissingEmptyOrGarbage() throws IOException {
        Path dir = folder("7");
        Path latest = dir.resolve("latest");
        Files.delete(latest);
        assertOpenFails(dir, latest).hasMessageContaining("missing");
        Files.writeString(latest, "  \n");
        assertOpenFails(dir, latest).hasMessageContaining("empty");
        Files.writeString(latest, "../../etc");
        assertOpenFails(dir, latest).hasMessageContaining("'../../etc', not an iteration number");
    }

    @Test
    void latestNamesMissingFolder() throws IOException {
        Path dir = folder("7");
        Files.writeString(dir.resolve("latest"), "8");
        assertOpenFails(dir, dir.resolve("latest")).hasMessageContaining("names iteration '8'")
                .hasMessageContaining("does not exist");
    }

    @Test
    void modelConfigMissingOrNotJson() throws IOException {
        Path dir = folder("7");
        Path config = dir.resolve("model_config.json");
        Files.writeString(config, "{\"num_layers\": 2,");
        assertOpenFails(dir, config).hasMessageContaining("not valid JSON");
        Files.writeString(config, "[2]");
        assertOpenFails(dir, config).hasMessageContaining("not a JSON object");
        Files.delete(config);
        assertOpenFails(dir, config).hasMessageContaining("missing");
    }

    @Test
    void statesFileMissing() throws IOException {
        Path dir = folder("7");
        Path states = dir.resolve("7").resolve(SatCheckpoint.STATES_FILE);
        Files.delete(states);
        assertOpenFails(dir, states).hasMessageContaining("missing");
    }

    @Test
    void brokenStatesFileFailsOnStateDict() throws IOException {
        Path dir = folder("7");
        Path states = dir.resolve("7").resolve(SatCheckpoint.STATES_FILE);
        Files.writeString(states, "garbage");
        SatCheckpoint c = SatCheckpoint.open(dir);
        assertThatThrownBy(c::stateDict).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(states.toString());
    }

    @Test
    void safetensorsFolder() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("st"));
        Files.writeString(dir.resolve("model_config.json"), CONFIG);
        SafetensorsReaderTest.write(dir.resolve("model.safetensors"),
                "{\"transformer.final_layernorm.weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                new byte[] {0, 0x3c, 0, (byte) 0xc0});
        try (SatCheckpoint c = SatCheckpoint.open(dir)) {
            assertThat(c.latest()).isNull();
            assertThat(c.weightsFile()).isEqualTo(dir.resolve("model.safetensors"));
            assertThat(c.config()).containsEntry("model_class", "CogVideoCacheModel");
            assertThat(c.stateDict().get("transformer.final_layernorm.weight").toFloatArray())
                    .containsExactly(1f, -2f);
        }
    }

    @Test
    void emptyFolderIsNotACheckpoint() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        assertOpenFails(dir, dir.resolve("latest")).hasMessageContaining("not a SwissArmyTransformer checkpoint");
    }
}
