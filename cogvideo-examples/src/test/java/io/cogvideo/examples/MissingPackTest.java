package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.VideoGenerator;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.WeightUse;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 12's acceptance: a generator on a backend without {@link VqVaeOps}, asked for decoded frames (the embedded
 * demo model with its image tokenizer), fails with a clear error before the first token.
 */
class MissingPackTest {

    /** The CPU backend with every call counted, which says it has no VQ-VAE pack. */
    static final class WithoutVqVae implements Backend {
        final Backend raw;
        final AtomicInteger calls = new AtomicInteger();

        WithoutVqVae(Backend raw) {
            this.raw = raw;
        }

        private <T> T count(T t) {
            calls.incrementAndGet();
            return t;
        }

        @Override
        public String name() {
            return "cpu-without-vqvae";
        }

        @Override
        public String description() {
            return "the CPU backend without its VqVaeOps pack";
        }

        @Override
        public Tensor fromFloats(float[] values, int... shape) {
            return count(raw.fromFloats(values, shape));
        }

        @Override
        public Tensor upload(TensorData data, WeightUse use) {
            return count(raw.upload(data, use));
        }

        @Override
        public Tensor cache(DType dtype, int... shape) {
            return count(raw.cache(dtype, shape));
        }

        @Override
        public float[] toFloats(Tensor t) {
            return count(raw.toFloats(t));
        }

        @Override
        public Tensor gatherRows(Tensor table, int[] rows, int batch) {
            return count(raw.gatherRows(table, rows, batch));
        }

        @Override
        public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
            return count(raw.linear(x, weight, bias));
        }

        @Override
        public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
            return count(raw.layerNorm(x, gamma, beta, eps));
        }

        @Override
        public Tensor gelu(Tensor x) {
            return count(raw.gelu(x));
        }

        @Override
        public Tensor add(Tensor a, Tensor b) {
            return count(raw.add(a, b));
        }

        @Override
        public Tensor slice(Tensor x, int axis, int start, int length) {
            return count(raw.slice(x, axis, start, length));
        }

        @Override
        public Tensor concat(int axis, Tensor... parts) {
            return count(raw.concat(axis, parts));
        }

        @Override
        public void write(Tensor dst, int axis, int offset, Tensor src) {
            count(dst);
            raw.write(dst, axis, offset, src);
        }

        @Override
        public <P extends OpPack> Optional<P> find(Class<P> pack) {
            if (pack == VqVaeOps.class) {
                return Optional.empty();
            }
            // the packs found here are the raw backend's: their calls are not counted, but they cannot run without
            // the primitives above (every model step uploads, gathers and multiplies first)
            return raw.find(pack);
        }

        @Override
        public void close() {
            raw.close();
        }
    }

    @Test
    void decodedFramesOnABackendWithoutVqVaeOpsFailBeforeTheFirstToken() {
        DemoAssets demo = DemoAssets.install();
        try (WithoutVqVae backend = new WithoutVqVae(Backends.select("cpu").create(BackendOptions.defaults()))) {
            AtomicInteger progress = new AtomicInteger();
            VideoGenerator.Builder b = VideoGenerator.builder().backend(backend).modelDir(demo.modelDir())
                    .textTokenizer(demo.textTokenizer()).imageTokenizer(demo.imageTokenizer())
                    .prompt("一只猫在草地上奔跑").frameRate(1).seed(1).listener(p -> progress.incrementAndGet());
            assertThatThrownBy(b::generate).isInstanceOf(CogVideoException.class)
                    .hasMessageContaining("backend 'cpu-without-vqvae'")
                    .hasMessageContaining("VqVaeOps")
                    .hasMessageContaining("decoding frames to pixels")
                    .hasMessageContaining("Choose a backend that has it");
            assertThat(progress.get()).as("progress events").isZero();
            assertThat(backend.calls.get()).as("backend calls (weights read or model steps)").isZero();

            // the same backend makes tokens when no decoding is asked for, and the generator leaves it open
            try (VideoGenerator tokensOnly = VideoGenerator.builder().backend(backend).modelDir(demo.modelDir())
                    .textTokenizer(demo.textTokenizer()).build()) {
                assertThat(tokensOnly.hasImageDecoder()).isFalse();
                assertThat(tokensOnly.generate(io.cogvideo.GenerationRequest.builder().prompt("一只猫").frameRate(1)
                        .guidance(false).seed(1).build()).hasPixels()).isFalse();
            }
            assertThat(backend.calls.get()).as("the backend stayed open and did the work").isPositive();
        }
    }
}
