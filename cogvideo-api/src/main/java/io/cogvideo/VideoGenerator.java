package io.cogvideo;

import io.cogvideo.generation.CogVideoPipeline;
import io.cogvideo.generation.ImageDecoder;
import io.cogvideo.generation.PromptEncoder;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.BackendProvider;
import io.cogvideo.spi.Backends;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Text to video with CogVideo. Two ways to use it:
 * <pre>{@code
 * // one shot: loads the models, generates, releases everything
 * Video v = VideoGenerator.builder().modelDir(dir).prompt("一只狮子在草原上奔跑").frameRate(8).generate();
 *
 * // a host app that makes many videos loads the models once
 * try (VideoGenerator gen = VideoGenerator.builder().modelDir(dir).build()) {
 *     Video v = gen.generate(GenerationRequest.builder().prompt("...").seed(42).build());
 * }
 * }</pre>
 *
 * <p><b>Thread safety:</b> a {@code VideoGenerator} is thread-safe. The weights and the backend are shared
 * read-only; each {@link #generate} call has its own caches and random generators, so concurrent calls give the same
 * tokens as the same calls made one after another. Concurrent calls share the CPU or GPU, so each runs slower.
 *
 * <p><b>Seeds:</b> the same seed, request, model and backend give identical tokens, whatever the batch size
 * (every sequence has its own generator derived from the seed). Across backends results agree only within numerical
 * tolerance, so tokens may differ.
 */
public final class VideoGenerator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VideoGenerator.class);

    private final Backend backend;
    private final CogVideoPipeline pipeline;
    private final boolean ownsBackend;
    private volatile boolean closed;

    private VideoGenerator(Backend backend, CogVideoPipeline pipeline, boolean ownsBackend) {
        this.backend = backend;
        this.pipeline = pipeline;
        this.ownsBackend = ownsBackend;
    }

    /** A builder for a generator (and optionally one request, for {@link Builder#generate()}). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A generator over models that are already loaded (tests, custom loading). The caller keeps ownership of the
     * backend.
     */
    public static VideoGenerator of(CogVideoPipeline pipeline, Backend backend) {
        return new VideoGenerator(backend, pipeline, false);
    }

    /** The backend in use (name and description for logs and "is this speed normal?" reports). */
    public String backendDescription() {
        return backend.description();
    }

    /** The pipeline (models, tokenizer) this generator runs. */
    public CogVideoPipeline pipeline() {
        return pipeline;
    }

    /**
     * Generates a video. Every request field is validated before any work; the seed used is reported in the result.
     *
     * @throws CogVideoException             for an invalid request (the message names the field and range)
     * @throws GenerationCancelledException if cancelled or interrupted; it carries the finished stages
     */
    public Video generate(GenerationRequest request) {
        Objects.requireNonNull(request, "request");
        if (closed) {
            throw new CogVideoException("this VideoGenerator is closed");
        }
        pipeline.validate(request);
        long seed = request.seed() != null ? request.seed() : new SecureRandom().nextLong();
        LOG.info("Generating {} frame(s) at {} fps, {} sample(s), seed {}, on {}", request.frameCount(),
                request.frameRate(), request.samples(), seed, backend.description());
        Video v = pipeline.generate(request, seed);
        LOG.info("Done in {} ms: {}", v.totalTime().toMillis(), v.timings());
        return v;
    }

    /** Shorthand for a request with defaults and this prompt. */
    public Video generate(String prompt) {
        return generate(GenerationRequest.builder().prompt(prompt).build());
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ownsBackend) {
            backend.close();
        }
    }

    /** Builder of a {@link VideoGenerator}, which can also carry one request for the one-shot form. */
    public static final class Builder {
        private Path modelDir;
        private Path stage2ModelDir;
        private Path textTokenizer;
        private Path imageTokenizer;
        private Path clusterTable;
        private Path superResolutionDir;
        private String backendName;
        private int threads;
        private PromptEncoder promptEncoder;
        private ImageDecoder imageDecoder;
        private final GenerationRequest.Builder request = GenerationRequest.builder();

        private Builder() {
        }

        /**
         * The stage-1 checkpoint folder (SwissArmyTransformer layout: {@code latest}, {@code model_config.json},
         * {@code <iteration>/mp_rank_00_model_states.pt}), or a folder with {@code model_config.json} and a
         * {@code .safetensors} file.
         */
        public Builder modelDir(Path dir) {
            this.modelDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** The stage-2 (interpolation) checkpoint folder; defaults to the stage-1 folder. */
        public Builder stage2ModelDir(Path dir) {
            this.stage2ModelDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /**
         * CogView2's direct super-resolution checkpoint folder ({@code cogview2-dsr}); with it, frames are lifted to
         * 480x480 (unless a request turns it off).
         */
        public Builder superResolutionModelDir(Path dir) {
            this.superResolutionDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** icetk's SentencePiece model ({@code ice_text.model}). */
        public Builder textTokenizer(Path model) {
            this.textTokenizer = Objects.requireNonNull(model, "model");
            return this;
        }

        /** icetk's VQ-VAE checkpoint ({@code ice_image.pt}) for decoding frames to pixels. */
        public Builder imageTokenizer(Path checkpoint) {
            this.imageTokenizer = Objects.requireNonNull(checkpoint, "checkpoint");
            return this;
        }

        /** A cluster table ({@code cluster_label2.npy}); defaults to the bundled one for 20000 image tokens. */
        public Builder clusterTable(Path npy) {
            this.clusterTable = Objects.requireNonNull(npy, "npy");
            return this;
        }

        /** Backend name ({@code cpu}, {@code cuda}); default: {@code -Dcogvideo.backend}, COGVIDEO_BACKEND, best. */
        public Builder backend(String name) {
            this.backendName = name;
            return this;
        }

        /** CPU threads for the backend (0: all cores). */
        public Builder threads(int n) {
            if (n < 0) {
                throw new CogVideoException("threads must be >= 0 (0 = all cores), got " + n);
            }
            this.threads = n;
            return this;
        }

        /** A custom prompt tokenizer (instead of {@link #textTokenizer}). */
        public Builder promptEncoder(PromptEncoder encoder) {
            this.promptEncoder = Objects.requireNonNull(encoder, "encoder");
            return this;
        }

        /** A custom frame decoder (instead of {@link #imageTokenizer}). */
        public Builder imageDecoder(ImageDecoder decoder) {
            this.imageDecoder = Objects.requireNonNull(decoder, "decoder");
            return this;
        }

        // ---- request fields for the one-shot form

        /** See {@link GenerationRequest.Builder#prompt}. */
        public Builder prompt(String prompt) {
            request.prompt(prompt);
            return this;
        }

        /** See {@link GenerationRequest.Builder#frameRate}. */
        public Builder frameRate(int fps) {
            request.frameRate(fps);
            return this;
        }

        /** See {@link GenerationRequest.Builder#seed}. */
        public Builder seed(long seed) {
            request.seed(seed);
            return this;
        }

        /** See {@link GenerationRequest.Builder#samples}. */
        public Builder samples(int n) {
            request.samples(n);
            return this;
        }

        /** See {@link GenerationRequest.Builder#guidance}. */
        public Builder guidance(boolean on) {
            request.guidance(on);
            return this;
        }

        /** See {@link GenerationRequest.Builder#superResolution}. */
        public Builder superResolution(boolean on) {
            request.superResolution(on);
            return this;
        }

        /** See {@link GenerationRequest.Builder#givenFrames}. */
        public Builder givenFrames(List<int[]> frames) {
            request.givenFrames(frames);
            return this;
        }

        /** See {@link GenerationRequest.Builder#listener}. */
        public Builder listener(GenerationListener l) {
            request.listener(l);
            return this;
        }

        /** See {@link GenerationRequest.Builder#cancellation}. */
        public Builder cancellation(Cancellation c) {
            request.cancellation(c);
            return this;
        }

        /** Loads the models and returns a reusable generator. */
        public VideoGenerator build() {
            if (modelDir == null) {
                throw new CogVideoException("no model: call modelDir(...) with a CogVideo checkpoint folder");
            }
            Backend backend = Backends.create(backendName, new BackendOptions(threads, null));
            try {
                CogVideoPipeline pipeline = ModelLoading.pipeline(backend, modelDir, stage2ModelDir, textTokenizer,
                        imageTokenizer, clusterTable, superResolutionDir, promptEncoder, imageDecoder);
                return new VideoGenerator(backend, pipeline, true);
            } catch (RuntimeException e) {
                backend.close();
                throw e;
            }
        }

        /** One shot: builds the generator, runs the request given to this builder, releases everything. */
        public Video generate() {
            GenerationRequest r = request.build();
            try (VideoGenerator g = build()) {
                return g.generate(r);
            }
        }
    }

    /** Loaded models of a pipeline, for callers who assemble one by hand. */
    public record Models(CogVideoModel stage1, CogVideoModel stage2) {
    }
}
