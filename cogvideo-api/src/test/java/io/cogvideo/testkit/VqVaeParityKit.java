package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.checkpoint.CheckpointException;
import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.checkpoint.TorchCheckpointReader;
import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.TensorData;
import io.cogvideo.tokenizer.image.HierarchicalVqVae;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import io.cogvideo.tokenizer.image.VqVaeConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Golden parity of the icetk image tokenizer (hierarchical VQ-VAE), run by every backend (subclass it and provide a
 * backend). The golden directory comes from {@code -Dcogvideo.golden.vqvae=DIR} (default: the {@code vqvae-tiny}
 * copy in the api test resources); the compress rates and cases are discovered from its files
 * ({@code encode_c<r>_ids.npy}, {@code decode_c<r>_images.npy}, {@code random_c<r>_ids.npy} /
 * {@code random_c<r>_images.npy}) and checked against the manifest's config. Encoded ids must be identical; decoded
 * images within {@value #TOL} (max abs), as the golden README states. Also checks the bad-input errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class VqVaeParityKit {
    public static final double TOL = 1e-3;
    private static final Pattern ENCODE = Pattern.compile("encode_c(\\d+)_ids\\.npy");
    private static final Pattern RANDOM = Pattern.compile("random_c(\\d+)_ids\\.npy");

    protected GoldenSet golden;
    protected Backend backend;
    protected ImageTokenizer tokenizer;
    private float[] inputs;
    private int[] inputShape;

    private boolean present;

    /** The backend under test. */
    protected abstract Backend newBackend();

    @org.junit.jupiter.api.BeforeEach
    void requireGolden() {
        org.junit.jupiter.api.Assumptions.assumeTrue(present,
                "VQ-VAE golden set not found: pass -Dcogvideo.golden.vqvae=DIR or keep ../shared/golden beside the "
                        + "project (its 11 MB checkpoint is not copied into the repository)");
    }

    @BeforeAll
    void setUp() {
        present = GoldenSet.available("cogvideo.golden.vqvae", "vqvae-tiny");
        if (!present) {
            return; // every test reports the skip with its reason (see requireGolden)
        }
        golden = GoldenSet.fromProperty("cogvideo.golden.vqvae", "vqvae-tiny");
        backend = CheckedBackend.wrap(newBackend());
        tokenizer = ImageTokenizer.load(checkpoint(), backend);
        NpyArray in = golden.npy("input_images.npy");
        inputs = in.floats();
        inputShape = in.shape();
    }

    @AfterAll
    void tearDown() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private Path checkpoint() {
        try (Stream<Path> files = Files.list(golden.dir())) {
            List<Path> pts = files.filter(p -> p.getFileName().toString().endsWith(".pt")).sorted().toList();
            assertThat(pts).as("exactly one .pt checkpoint in " + golden.dir()).hasSize(1);
            return pts.get(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TreeSet<Integer> rates(Pattern p) {
        TreeSet<Integer> rates = new TreeSet<>();
        try (Stream<Path> files = Files.list(golden.dir())) {
            files.forEach(f -> {
                Matcher m = p.matcher(f.getFileName().toString());
                if (m.matches()) {
                    rates.add(Integer.parseInt(m.group(1)));
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rates;
    }

    // ------------------------------------------------------------------ configuration

    @Test
    void configMatchesManifest() {
        JsonNode params = golden.manifest().path("config").path("params");
        VqVaeConfig c = tokenizer.config();
        JsonNode q = params.path("quantize_config").path("params");
        JsonNode enc = params.path("enc_config").path("params");
        assertThat(c.codebookSize()).isEqualTo(q.path("n_embed").asInt());
        assertThat(c.embeddingDim()).isEqualTo(q.path("embedding_dim").asInt());
        assertThat(c.zChannels()).isEqualTo(enc.path("z_channels").asInt());
        assertThat(c.channels()).isEqualTo(enc.path("channels").asInt());
        int levels = params.path("levels").asInt();
        assertThat(c.downSamplers()).isEqualTo(levels - 1);
        // icetk: compress rate 2^(l+2) for level l
        List<Integer> expected = new ArrayList<>();
        for (int l = 0; l < levels; l++) {
            expected.add(1 << (l + 2));
        }
        assertThat(c.encodeRates()).isEqualTo(expected);
        assertThat(c.decodeRates()).isEqualTo(expected);
        assertThat(new TreeSet<>(expected)).containsAll(rates(ENCODE));
        float[] mean = floats(golden.manifest().get("normalize_mean"));
        float[] std = floats(golden.manifest().get("normalize_std"));
        assertThat(mean).containsExactly(VqVaeConfig.PIXEL_MEAN);
        assertThat(std).containsExactly(VqVaeConfig.PIXEL_STD);
    }

    private static float[] floats(JsonNode a) {
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).asDouble();
        }
        return out;
    }

    // ------------------------------------------------------------------ golden cases

    @TestFactory
    Stream<DynamicTest> goldenCases() {
        List<DynamicTest> tests = new ArrayList<>();
        for (int rate : rates(ENCODE)) {
            tests.add(DynamicTest.dynamicTest("encode_c" + rate, () -> encodeCase(rate)));
            if (Files.exists(golden.dir().resolve("decode_c" + rate + "_images.npy"))) {
                tests.add(DynamicTest.dynamicTest("decode_c" + rate, () -> decodeCase("encode_c" + rate + "_ids.npy",
                        "decode_c" + rate + "_images.npy", rate)));
            }
        }
        for (int rate : rates(RANDOM)) {
            tests.add(DynamicTest.dynamicTest("random_c" + rate, () -> decodeCase("random_c" + rate + "_ids.npy",
                    "random_c" + rate + "_images.npy", rate)));
        }
        assertThat(tests).as("golden directory must contain tokenizer cases").isNotEmpty();
        return tests.stream();
    }

    private void encodeCase(int rate) {
        NpyArray exp = golden.npy("encode_c" + rate + "_ids.npy");
        int[] expected = exp.ints();
        int batch = inputShape[0];
        int[] ids = tokenizer.encodePixels(inputs, batch, inputShape[2], inputShape[3], rate);
        assertThat(exp.shape()[0]).isEqualTo(batch);
        int mismatches = 0;
        for (int i = 0; i < ids.length && i < expected.length; i++) {
            if (ids[i] != expected[i]) {
                mismatches++;
            }
        }
        System.out.printf("[vqvae parity] encode_c%d: %d ids, %d mismatches%n", rate, expected.length, mismatches);
        assertThat(ids).as("encode_c" + rate + " ids").containsExactly(expected);
    }

    private void decodeCase(String idsFile, String imagesFile, int rate) {
        NpyArray idArr = golden.npy(idsFile);
        int[] ids = idArr.ints();
        int batch = idArr.shape()[0];
        NpyArray imgArr = golden.npy(imagesFile);
        float[] expected = imgArr.floats();
        float[] got = tokenizer.decodePixels(ids, batch, rate);
        assertThat(got.length).as(imagesFile + " size " + Arrays.toString(imgArr.shape())).isEqualTo(expected.length);
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - expected[i]));
        }
        System.out.printf("[vqvae parity] %s: max abs error %.3g%n", imagesFile, worst);
        assertThat(worst).as(imagesFile + ": max abs error").isLessThanOrEqualTo(TOL);
    }

    // ------------------------------------------------------------------ pictures

    /** Golden input image {@code b} rounded to 8 bits, as a picture. */
    private BufferedImage picture(int b) {
        int h = inputShape[2];
        int w = inputShape[3];
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        int off = b * 3 * plane;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                int r = Math.round(inputs[off + i] * 255f);
                int g = Math.round(inputs[off + plane + i] * 255f);
                int bl = Math.round(inputs[off + 2 * plane + i] * 255f);
                img.setRGB(x, y, (r << 16) | (g << 8) | bl);
            }
        }
        return img;
    }

    private static float[] pixels01(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        float[] out = new float[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                out[y * w + x] = ((rgb >> 16) & 0xff) / 255f;
                out[w * h + y * w + x] = ((rgb >> 8) & 0xff) / 255f;
                out[2 * w * h + y * w + x] = (rgb & 0xff) / 255f;
            }
        }
        return out;
    }

    @Test
    void pictureEncodingMatchesPixelEncoding() {
        int rate = tokenizer.config().encodeRates().get(tokenizer.config().encodeRates().size() / 2);
        BufferedImage img = picture(0);
        int[] viaPicture = tokenizer.encode(img, rate);
        int[] viaPixels = tokenizer.encodePixels(pixels01(img), 1, img.getHeight(), img.getWidth(), rate);
        assertThat(viaPicture).containsExactly(viaPixels);
        int side = img.getWidth() / rate;
        assertThat(viaPicture).hasSize(side * side);
        // explicit size equal to the picture's: resize and crop are the identity
        assertThat(tokenizer.encode(img, img.getWidth(), rate)).containsExactly(viaPixels);
    }

    @Test
    void nonSquarePictureIsCenterCropped() {
        int rate = tokenizer.config().encodeRates().get(0);
        BufferedImage img = picture(1);
        int w = img.getWidth();
        int h = img.getHeight();
        // pad the picture with 2*rate columns of white on the left and right: the center crop removes them again
        BufferedImage wide = new BufferedImage(w + 4 * rate, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < wide.getWidth(); x++) {
                int sx = x - 2 * rate;
                wide.setRGB(x, y, sx >= 0 && sx < w ? img.getRGB(sx, y) : 0xffffff);
            }
        }
        assertThat(tokenizer.encode(wide, rate)).containsExactly(tokenizer.encode(img, rate));
        assertThat(tokenizer.encode(wide, h, rate)).containsExactly(tokenizer.encode(img, rate));
    }

    @Test
    void resizedEncodingHasTheRequestedGrid() {
        int rate = tokenizer.config().encodeRates().get(0);
        BufferedImage img = picture(2);
        int size = img.getWidth() / 2;
        assertThat(tokenizer.encode(img, size, rate)).hasSize((size / rate) * (size / rate));
    }

    @Test
    void pictureDecodingRoundsClampedPixels() {
        int rate = tokenizer.config().decodeRates().get(0);
        int[] ids = golden.npy("encode_c" + rate + "_ids.npy").ints();
        int per = ids.length / golden.npy("encode_c" + rate + "_ids.npy").shape()[0];
        int[] first = Arrays.copyOf(ids, per);
        float[] px = tokenizer.decodePixels(first, 1, rate);
        BufferedImage img = tokenizer.decode(first, rate);
        int side = (int) Math.round(Math.sqrt(per)) * rate;
        assertThat(img.getWidth()).isEqualTo(side);
        assertThat(img.getHeight()).isEqualTo(side);
        int plane = side * side;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                int rgb = img.getRGB(x, y);
                int i = y * side + x;
                assertThat((rgb >> 16) & 0xff).isEqualTo(to8(px[i]));
                assertThat((rgb >> 8) & 0xff).isEqualTo(to8(px[plane + i]));
                assertThat(rgb & 0xff).isEqualTo(to8(px[2 * plane + i]));
            }
        }
    }

    private static int to8(float v) {
        return (int) Math.floor(Math.max(0f, Math.min(1f, v)) * 255f + 0.5f);
    }

    @Test
    void imageDecoderUsesCogVideoRate() {
        if (!tokenizer.config().decodeRates().contains(ImageTokenizer.COGVIDEO_COMPRESS_RATE)) {
            return;
        }
        int rate = ImageTokenizer.COGVIDEO_COMPRESS_RATE;
        int[] ids = golden.npy("random_c" + rate + "_ids.npy").ints();
        int per = ids.length / golden.npy("random_c" + rate + "_ids.npy").shape()[0];
        int[] first = Arrays.copyOf(ids, per);
        ImageDecoder dec = tokenizer.imageDecoder();
        BufferedImage a = dec.decode(first);
        BufferedImage b = tokenizer.decode(first, rate);
        assertThat(a.getWidth()).isEqualTo(b.getWidth());
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                assertThat(a.getRGB(x, y)).isEqualTo(b.getRGB(x, y));
            }
        }
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void tokenOutsideCodebookIsRejected() {
        int rate = tokenizer.config().decodeRates().get(0);
        int k = tokenizer.codebookSize();
        int[] ids = new int[4];
        ids[3] = k;
        assertThatThrownBy(() -> tokenizer.decode(ids, rate)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id " + k).hasMessageContaining("[0, " + k + ")");
        ids[3] = -1;
        assertThatThrownBy(() -> tokenizer.decodePixels(ids, 1, rate)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id -1");
    }

    @Test
    void nonSquareGridIsRejected() {
        int rate = tokenizer.config().decodeRates().get(0);
        assertThatThrownBy(() -> tokenizer.decode(new int[6], rate)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("6 tokens").hasMessageContaining("square");
        assertThatThrownBy(() -> tokenizer.decode(new int[0], rate)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0 tokens");
        assertThatThrownBy(() -> tokenizer.decodePixels(new int[8], 3, rate))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 tokens");
    }

    @Test
    void emptyImageIsRejected() {
        int rate = tokenizer.config().encodeRates().get(0);
        assertThatThrownBy(() -> tokenizer.encodePixels(new float[0], 1, 0, 0, rate))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0x0");
        assertThatThrownBy(() -> tokenizer.encode(picture(0), 0, rate))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("image size 0");
        // smaller than one token
        BufferedImage tiny = new BufferedImage(rate - 1, rate - 1, BufferedImage.TYPE_INT_RGB);
        assertThatThrownBy(() -> tokenizer.encode(tiny, rate)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining((rate - 1) + "x" + (rate - 1)).hasMessageContaining("too small");
        assertThatThrownBy(() -> tokenizer.encodePixels(new float[5], 1, 2, 2, rate))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 values");
    }

    @Test
    void unsupportedRateIsRejected() {
        int bad = 2 * tokenizer.config().encodeRates().get(tokenizer.config().encodeRates().size() - 1);
        assertThatThrownBy(() -> tokenizer.encode(picture(0), bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("compress rate " + bad);
        assertThatThrownBy(() -> tokenizer.decode(new int[4], bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("compress rate " + bad);
        assertThatThrownBy(() -> tokenizer.decoder(3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("compress rate 3");
    }

    // ------------------------------------------------------------------ architecture from the keys

    @Test
    void decodersFollowTheKeysPresent() {
        try (StateDict full = TorchCheckpointReader.readModule(checkpoint())) {
            // drop decs.0 and renumber decs.1.. to decs.0.. (module lists are numbered from 0)
            Map<String, TensorData> renumbered = new LinkedHashMap<>();
            Pattern dec = Pattern.compile("^decs\\.(\\d+)\\.(.*)$");
            for (Map.Entry<String, TensorData> e : full.asMap().entrySet()) {
                Matcher m = dec.matcher(e.getKey());
                if (!m.matches()) {
                    renumbered.put(e.getKey(), e.getValue());
                } else if (!m.group(1).equals("0")) {
                    renumbered.put("decs." + (Integer.parseInt(m.group(1)) - 1) + "." + m.group(2), e.getValue());
                }
            }
            try (HierarchicalVqVae partial = HierarchicalVqVae.load(StateDict.of(full.source(), renumbered),
                    backend)) {
                ImageTokenizer t = new ImageTokenizer(partial);
                List<Integer> lost = new ArrayList<>(tokenizer.config().decodeRates());
                lost.removeAll(t.config().decodeRates());
                assertThat(lost).as("rates lost with decs.0").hasSize(1);
                assertThat(t.config().decodeRates()).hasSize(tokenizer.config().decodeRates().size() - 1);
                assertThat(t.config().encodeRates()).isEqualTo(tokenizer.config().encodeRates());
                int rate = lost.get(0);
                assertThatThrownBy(() -> t.decode(new int[4], rate)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("compress rate " + rate);
                for (int other : t.config().decodeRates()) {
                    // the remaining decoders are still found by their rate
                    Path ids = golden.dir().resolve("encode_c" + other + "_ids.npy");
                    if (Files.exists(ids)) {
                        int[] all = golden.npy(ids.getFileName().toString()).ints();
                        int per = all.length / inputShape[0];
                        float[] a = t.decodePixels(Arrays.copyOf(all, per), 1, other);
                        float[] b = tokenizer.decodePixels(Arrays.copyOf(all, per), 1, other);
                        assertThat(a).containsExactly(b);
                    }
                }
                if (t.config().encodeRates().contains(rate)
                        && Files.exists(golden.dir().resolve("encode_c" + rate + "_ids.npy"))) {
                    // encoding at that rate still works: it needs no decoder
                    int[] ids = t.encodePixels(inputs, inputShape[0], inputShape[2], inputShape[3], rate);
                    assertThat(ids).containsExactly(golden.npy("encode_c" + rate + "_ids.npy").ints());
                }
            }
        }
    }

    @Test
    void wrongShapeIsReportedWithTheKey() {
        try (StateDict full = TorchCheckpointReader.readModule(checkpoint())) {
            Map<String, TensorData> m = new LinkedHashMap<>(full.asMap());
            String key = "decs.0.mid.block_1.norm2.bias";
            assertThat(m).containsKey(key);
            int n = m.get(key).shape()[0] + 1;
            m.put(key, TensorData.ofFloats(key, new float[n], n));
            assertThatThrownBy(() -> HierarchicalVqVae.load(StateDict.of(full.source(), m), backend))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining(key)
                    .hasMessageContaining("[" + n + "]");
            m.remove("quantize.embed.weight");
            assertThatThrownBy(() -> HierarchicalVqVae.load(StateDict.of(full.source(), m), backend))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("quantize.embed.weight");
        }
    }
}
