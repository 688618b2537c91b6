package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The golden checkpoints written by the original SwissArmyTransformer/DeepSpeed code: every tensor listed in the
 * manifest, with its shape and dtype; values finite; bytes identical to the raw zip entries (read independently
 * with java.util.zip); a few values checked against numbers computed once by hand with numpy from the same file.
 */
class GoldenCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SHARED_GOLDEN = Path.of("/work/shared/golden");

    /** The golden case directory: system property {@code cogvideo.golden}, else the copy in the test resources. */
    static Path goldenCase() {
        String prop = System.getProperty("cogvideo.golden");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        for (String c : List.of("src/test/resources/golden/cogvideo-tiny-a",
                "cogvideo-api/src/test/resources/golden/cogvideo-tiny-a")) {
            if (Files.isDirectory(Path.of(c))) {
                return Path.of(c);
            }
        }
        return Path.of("src/test/resources/golden/cogvideo-tiny-a");
    }

    record Expected(String key, int[] shape, DType dtype) {
    }

    static List<Expected> manifestTensors(Path manifest) throws IOException {
        JsonNode root = JSON.readTree(manifest.toFile());
        List<Expected> out = new ArrayList<>();
        for (JsonNode t : root.get("tensors")) {
            int[] shape = new int[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asInt();
            }
            out.add(new Expected(t.get("key").asText(), shape, dtypeOf(t.get("dtype").asText())));
        }
        return out;
    }

    static DType dtypeOf(String name) {
        return switch (name.replace("torch.", "")) {
            case "float16", "half" -> DType.FLOAT16;
            case "float32", "float" -> DType.FLOAT32;
            case "bfloat16" -> DType.BFLOAT16;
            case "float64", "double" -> DType.FLOAT64;
            case "int64", "long" -> DType.INT64;
            case "int32", "int" -> DType.INT32;
            case "int8" -> DType.INT8;
            case "uint8" -> DType.UINT8;
            case "bool" -> DType.BOOL;
            default -> throw new IllegalArgumentException("unknown manifest dtype " + name);
        };
    }

    @Test
    void goldenSatCheckpointHasEveryManifestTensorWithShapeAndDtype() throws IOException {
        Path dir = goldenCase();
        assertThat(dir.resolve("manifest.json")).as("golden case from -Dcogvideo.golden").isRegularFile();
        List<Expected> expected = manifestTensors(dir.resolve("manifest.json"));
        assertThat(expected).isNotEmpty();

        try (SatCheckpoint ckpt = SatCheckpoint.open(dir.resolve("checkpoint"))) {
            StateDict sd = ckpt.stateDict();
            assertThat(ckpt.stateDict()).as("loaded once").isSameAs(sd);
            assertThat(sd.keys()).containsExactlyInAnyOrderElementsOf(expected.stream().map(Expected::key).toList());
            for (Expected e : expected) {
                TensorData t = sd.require(e.key(), e.shape());
                assertThat(t.dtype()).as(e.key()).isEqualTo(e.dtype());
                assertThat(t.data().isDirect()).as("memory-mapped, not on the heap").isTrue();
                assertThat(t.data().isReadOnly()).isTrue();
                if (t.dtype().isFloatingPoint()) {
                    float[] v = t.toFloatArray();
                    for (int i = 0; i < v.length; i++) {
                        if (!Float.isFinite(v[i])) {
                            throw new AssertionError(e.key() + "[" + i + "] = " + v[i]);
                        }
                    }
                }
            }
        }
    }

    @Test
    void goldenModelConfigIsRead() {
        Path dir = goldenCase().resolve("checkpoint");
        SatCheckpoint ckpt = SatCheckpoint.open(dir);
        assertThat(ckpt.latest()).isEqualTo("1");
        assertThat(ckpt.weightsFile()).isEqualTo(dir.resolve("1").resolve(SatCheckpoint.STATES_FILE));
        assertThat(ckpt.config()).containsKeys("num_layers", "hidden_size", "num_attention_heads", "vocab_size");
        assertThat(ckpt.configJson().get("num_layers").asInt()).isEqualTo(ckpt.config().get("num_layers"));
    }

    @Test
    void goldenTensorBytesEqualTheRawZipEntries() throws IOException {
        Path pt = goldenCase().resolve("checkpoint/1/mp_rank_00_model_states.pt");
        compareWithRawEntries(pt);
    }

    /** Every tensor's mapped bytes equal the bytes java.util.zip reads from its storage entry at its offset. */
    static void compareWithRawEntries(Path pt) throws IOException {
        TorchCheckpoint ckpt = TorchCheckpointReader.read(pt);
        Map<?, ?> module = (Map<?, ?>) ((Map<?, ?>) ckpt.root()).get("module");
        StateDict sd = ckpt.stateDict("module");
        assertThat(sd.size()).isEqualTo(module.size());
        int compared = 0;
        try (ZipFile zip = new ZipFile(pt.toFile())) {
            for (Map.Entry<?, ?> e : module.entrySet()) {
                TorchTensorRef ref = (TorchTensorRef) e.getValue();
                byte[] raw;
                try (InputStream in = zip.getInputStream(
                        zip.getEntry(ckpt.archiveName() + "/data/" + ref.storage().key()))) {
                    raw = in.readAllBytes();
                }
                TensorData t = sd.get((String) e.getKey());
                int elem = t.dtype().byteSize();
                int from = (int) ref.storageOffset() * elem;
                byte[] expected = java.util.Arrays.copyOfRange(raw, from, from + (int) t.numel() * elem);
                ByteBuffer mapped = t.data();
                byte[] actual = new byte[mapped.remaining()];
                mapped.get(actual);
                assertThat(actual).as(String.valueOf(e.getKey())).isEqualTo(expected);
                compared++;
            }
        }
        assertThat(compared).isEqualTo(sd.size()).isPositive();
    }

    @Test
    void goldenValuesMatchNumpySpotChecks() {
        Path dir = goldenCase();
        assumeTrue(dir.getFileName().toString().equals("cogvideo-tiny-a"), "spot values are for cogvideo-tiny-a");
        StateDict sd = TorchCheckpointReader.readModule(dir.resolve("checkpoint/1/mp_rank_00_model_states.pt"));
        // Values computed once with numpy (np.frombuffer on the storage entries located with pickletools).
        spot(sd, "transformer.word_embeddings.weight",
                new float[] {0.2032470703125f, -0.46826171875f, 0.115478515625f, -0.231201171875f},
                0.06707763671875f, 463.3133296966553);
        spot(sd, "transformer.layers.1.attention.query_key_value.bias",
                new float[] {-0.08612060546875f, -0.015411376953125f, 0.054046630859375f, 0.1055908203125f},
                0.042083740234375f, 2.4577291011810303);
        spot(sd, "mixins.attention_plus.attn_distribution.0",
                new float[] {0.471435546875f, 0.95947265625f, 0.8076171875f, -2.130859375f},
                0.031585693359375f, 16.76321029663086);
        spot(sd, "transformer.final_layernorm.weight",
                new float[] {0.97607421875f, 0.93115234375f, 1.0078125f, 0.92578125f}, 1.0341796875f,
                63.986328125);
    }

    static void spot(StateDict sd, String key, float[] first, float last, double sum) {
        float[] v = sd.get(key).toFloatArray();
        assertThat(java.util.Arrays.copyOf(v, first.length)).as(key).containsExactly(first);
        assertThat(v[v.length - 1]).as(key).isEqualTo(last);
        double s = 0;
        for (float f : v) {
            s += f;
        }
        assertThat(s).as(key + " sum").isCloseTo(sum, within(1e-9));
    }

    @Test
    void goldenClientStateParsesAsInertData() {
        Path dir = goldenCase();
        assumeTrue(dir.getFileName().toString().equals("cogvideo-tiny-a"), "client state is that of cogvideo-tiny-a");
        TorchCheckpoint ckpt = TorchCheckpointReader.read(dir.resolve("checkpoint/1/mp_rank_00_model_states.pt"));
        Map<?, ?> root = (Map<?, ?>) ckpt.root();
        assertThat(ckpt.topLevelKeys()).contains("module", "iteration", "random_rng_state", "np_rng_state",
                "torch_rng_state", "param_shapes", "sparse_tensor_module_names");
        assertThat(root.get("iteration")).isEqualTo(1);
        assertThat(root.get("sparse_tensor_module_names")).isInstanceOf(Set.class);
        // Python random state: (3, (625 ints), None)
        Object[] pyRandom = (Object[]) root.get("random_rng_state");
        assertThat(pyRandom[0]).isEqualTo(3);
        assertThat((Object[]) pyRandom[1]).hasSize(625);
        // numpy RNG state: numpy.core.multiarray._reconstruct etc. stay inert placeholders
        Object[] np = (Object[]) root.get("np_rng_state");
        assertThat(np[0]).isEqualTo("MT19937");
        assertThat(np[1]).isInstanceOfSatisfying(PickleObject.class, o -> {
            assertThat(o.global()).isEqualTo(new PickleGlobal("numpy.core.multiarray", "_reconstruct"));
            assertThat(o.state()).isNotNull();
        });
        // torch.Size values in param_shapes become tuples
        List<?> paramShapes = (List<?>) root.get("param_shapes");
        Map<?, ?> shapes = (Map<?, ?>) paramShapes.get(0);
        assertThat((Object[]) shapes.get("transformer.word_embeddings.weight")).containsExactly(20100, 64);
        // torch RNG state is a ByteTensor
        TorchTensorRef rng = (TorchTensorRef) root.get("torch_rng_state");
        TensorData rngData = ckpt.tensor("torch_rng_state", rng);
        assertThat(rngData.dtype()).isEqualTo(DType.UINT8);
        assertThat(rngData.shape()).containsExactly(5056);
    }

    @Test
    void vqvaeTinyModuleMatchesItsManifest() throws IOException {
        Path dir = SHARED_GOLDEN.resolve("vqvae-tiny");
        assumeTrue(Files.isRegularFile(dir.resolve("ice_image_tiny.pt")), "shared golden vqvae-tiny not present");
        StateDict sd = TorchCheckpointReader.readModule(dir.resolve("ice_image_tiny.pt"));
        List<Expected> expected = manifestTensors(dir.resolve("manifest.json"));
        assertThat(sd.keys()).containsExactlyInAnyOrderElementsOf(expected.stream().map(Expected::key).toList());
        for (Expected e : expected) {
            // The manifest records the model's dtype before .half(); the file holds float16 (see the golden README).
            assertThat(sd.require(e.key(), e.shape()).dtype()).as(e.key()).isEqualTo(DType.FLOAT16);
        }
        spot(sd, "enc.conv_in.weight",
                new float[] {-0.1282958984375f, -0.093505859375f, -0.319580078125f, 0.033233642578125f},
                -0.051605224609375f, 7.198913097381592);
        compareWithRawEntries(dir.resolve("ice_image_tiny.pt"));
    }

    @Test
    void dsrTinyCheckpointFolderMatchesItsManifest() throws IOException {
        Path dir = SHARED_GOLDEN.resolve("dsr-tiny-a");
        assumeTrue(Files.isDirectory(dir.resolve("checkpoint")), "shared golden dsr-tiny-a not present");
        List<Expected> expected = manifestTensors(dir.resolve("manifest.json"));
        try (SatCheckpoint ckpt = SatCheckpoint.open(dir.resolve("checkpoint"))) {
            assertThat(ckpt.config()).containsEntry("model_class", "DsrModel");
            StateDict sd = ckpt.stateDict();
            assertThat(sd.size()).isEqualTo(expected.size());
            for (Expected e : expected) {
                assertThat(sd.require(e.key(), e.shape()).dtype()).as(e.key()).isEqualTo(e.dtype());
            }
            spot(sd, "transformer.final_layernorm.bias",
                    new float[] {-0.0231781005859375f, -0.08404541015625f, 0.01207733154296875f,
                        0.0276947021484375f},
                    -0.0202178955078125f, 1.1590633392333984);
        }
        compareWithRawEntries(dir.resolve("checkpoint/1/mp_rank_00_model_states.pt"));
    }
}
