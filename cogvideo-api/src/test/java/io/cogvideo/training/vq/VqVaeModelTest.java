package io.cogvideo.training.vq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.testkit.ReferenceBackend;
import io.cogvideo.tokenizer.image.HierarchicalVqVae;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import io.cogvideo.tokenizer.image.VqVaeConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainable model against the project's inference VQ-VAE, through the fp16 icetk checkpoint it writes. */
class VqVaeModelTest {
    /** Small but complete: width changes (nin_shortcut) in encoder and decoder, every block kind, rate 8. */
    static final VqArchitecture SMALL = new VqArchitecture(32, 32, 16, 64, List.of(1, 1, 2), 1, List.of(1, 1, 1, 2));

    @TempDir
    Path tmp;
    private CheckedBackend backend;

    @BeforeEach
    void open() {
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    }

    @AfterEach
    void close() {
        backend.close();
    }

    /** A model whose codebook is spread over its encoder outputs, so that many ids occur. */
    static VqVaeModel modelWithDataCodebook(CheckedBackend backend, float[] x, int n, int side) {
        VqVaeModel m = VqVaeModel.initialise(SMALL, 7);
        VqVaeModel.Pass p = m.pass(backend, x, n, side, side, 0.25, null);
        int d = SMALL.embeddingDim();
        int hw = p.gridH() * p.gridW();
        float[] cb = new float[SMALL.codebookSize() * d];
        SplittableRandom rnd = new SplittableRandom(3);
        for (int j = 0; j < SMALL.codebookSize(); j++) {
            int i = rnd.nextInt(n);
            int q = rnd.nextInt(hw);
            for (int c = 0; c < d; c++) {
                cb[j * d + c] = p.ze()[(i * d + c) * hw + q] + (float) rnd.nextGaussian() * 0.05f;
            }
        }
        m.setCodebook(cb);
        return m;
    }

    @Test
    void forwardEqualsTheInferenceModelOnTheWrittenCheckpoint() {
        int n = 2;
        int side = 32;
        ShapeImages world = new ShapeImages(side);
        float[] rgb = new float[n * 3 * side * side];
        for (int i = 0; i < n; i++) {
            System.arraycopy(world.image(i * 4 + 1, 11 + i), 0, rgb, i * 3 * side * side, 3 * side * side);
        }
        float[] x = VqVaeModel.normalise(rgb, n, side, side);
        VqVaeModel trained = modelWithDataCodebook(backend, x, n, side);
        Path file = tmp.resolve("vq.safetensors");
        VqVaeTrainer.writeIcetk(trained, file);

        try (StateDict sd = SafetensorsReader.read(file)) {
            assertThat(sd.keys()).allMatch(k -> k.startsWith("enc.") || k.startsWith("down_samplers.0.")
                    || k.startsWith("quantize.proj.") || k.equals("quantize.embed.weight") || k.startsWith("decs.1."));
            assertThat(sd.get("quantize.embed.weight").dtype()).isEqualTo(io.cogvideo.spi.DType.FLOAT16);
            VqVaeModel model = VqVaeModel.fromStateDict(SMALL, sd); // the fp16-rounded weights
            try (HierarchicalVqVae ref = HierarchicalVqVae.load(sd, backend)) {
                VqVaeConfig cfg = ref.config();
                assertThat(cfg.encodeRates()).containsExactly(4, 8);
                assertThat(cfg.decodeRates()).containsExactly(8);
                assertThat(cfg.codebookSize()).isEqualTo(64);
                int[] ids = model.encodeIds(backend, x, n, side, side);
                Tensor xt = backend.fromFloats(x, n, 3, side, side);
                int[] refIds = ref.encode(xt, 8);
                xt.close();
                assertThat(ids).hasSize(n * 16).containsExactly(refIds);
                assertThat(java.util.Arrays.stream(ids).distinct().count()).isGreaterThan(3);

                float[] img = model.decodeIds(backend, ids, n, 4, 4);
                Tensor rt = ref.decode(refIds, n, 4, 4, 8);
                float[] refImg = backend.toFloats(rt);
                rt.close();
                assertThat(img).hasSize(refImg.length);
                double maxDiff = 0;
                for (int i = 0; i < img.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(img[i] - refImg[i]));
                }
                assertThat(maxDiff).isLessThan(1e-4);
            }
        }
        try (ImageTokenizer tok = ImageTokenizer.load(file, backend)) {
            int[] ids = tok.encodePixels(rgb, n, side, side, 8);
            assertThat(ids).hasSize(n * 16);
            assertThat(java.util.Arrays.stream(ids).allMatch(i -> i >= 0 && i < 64)).isTrue();
            float[] pixels = tok.decodePixels(ids, n, 8);
            assertThat(pixels).hasSize(rgb.length);
            for (float v : pixels) {
                assertThat(Float.isFinite(v)).isTrue();
            }
        }
    }

    @Test
    void architectureChecksNameTheValue() {
        assertThatThrownBy(() -> new VqArchitecture(48, 32, 32, 512, List.of(1, 2, 4), 1, List.of(1, 1, 2, 4)))
                .hasMessageContaining("channels = 48");
        assertThatThrownBy(() -> new VqArchitecture(32, 32, 32, 512, List.of(1, 2, 4), 1, List.of(1, 2, 4)))
                .hasMessageContaining("up-samples by 4");
        assertThat(VqArchitecture.demo().compressRate()).isEqualTo(8);
        VqVaeModel m = VqVaeModel.initialise(VqArchitecture.demo(), 1);
        assertThat(m.parameters()).containsKeys("enc.down.2.block.0.nin_shortcut.weight",
                "decs.1.up.2.block.0.nin_shortcut.weight", "decs.1.up.3.upsample.conv.weight",
                "down_samplers.0.conv_down_sampler.conv.weight", "quantize.proj.weight");
        assertThat(m.parameters()).doesNotContainKey("decs.1.up.0.upsample.conv.weight");
    }
}
