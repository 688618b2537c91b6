package io.cogvideo;

import io.cogvideo.generation.CogVideoPipeline;
import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.generation.RequestPlan;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
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
 * Cancelling one request stops that request only.
 *
 * <p><b>Closing during a run:</b> {@link #close} may be called while other threads generate. Those runs stop within
 * one step with a {@link GenerationCancelledException} that says the generator was closed; {@code close} waits for
 * them to leave before it frees the models and the backend, so no run ever touches freed memory. Called from inside a
 * run (a listener), it returns at once and the memory is freed when the last run has left. Calls made after
 * {@code close} fail with a {@link CogVideoException}.
 *
 * <p><b>Results:</b> a {@link Video} holds tokens, and pixels when the generator has an image decoder; it does not
 * depend on the generator, so it stays usable after {@link #close}. A video of tokens only (for example the partial
 * result a {@link GenerationCancelledException} carries) is decoded with {@link #decode} while the generator is open.
 *
 * <p><b>Capabilities:</b> the backend's op packs that the configured models and tokenizers need are checked when the
 * generator is built, and those a request needs again before its first token, with a message that names the backend,
 * the missing pack and what to do.
 *
 * <p><b>Seeds:</b> the same seed, request, model and backend give identical tokens, whatever the batch size
 * (every sequence has its own generator derived from the seed). Across backends results agree only within numerical
 * tolerance, so tokens may differ.
 */
public final class VideoGenerator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VideoGenerator.class);

    private final CheckedBackend backend;
    private final CogVideoPipeline pipeline;
    private final boolean ownsBackend;
    /** The image tokenizer loaded from {@link Builder#imageTokenizer}, or {@code null}; it may lack an encoder. */
    private final ImageTokenizer imageTokenizer;
    private volatile boolean closed;
    /** Guards {@link #inFlight}, {@link #runs} and {@link #released}. */
    private final Object lifecycle = new Object();
    /** Calls using the backend now (generate, decode, encode). */
    private int inFlight;
    /** The private cancellation flag of every generate call in flight. */
    private final Set<Cancellation> runs = new HashSet<>();
    /** Whether the models and the backend were freed. */
    private boolean released;
    /** How deep the current thread is inside calls of this generator (a listener may call close). */
    private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);

    private VideoGenerator(CheckedBackend backend, CogVideoPipeline pipeline, boolean ownsBackend,
            ImageTokenizer imageTokenizer) {
        this.backend = backend;
        this.pipeline = pipeline;
        this.ownsBackend = ownsBackend;
        this.imageTokenizer = imageTokenizer;
    }

    /** A builder for a generator (and optionally one request, for {@link Builder#generate()}). */
    public static Builder builder() {
        return new Builder();
    }

    /** The backend in use (name and description for logs and "is this speed normal?" reports). */
    public String backendDescription() {
        return backend.description();
    }

    /** Whether this generator decodes frames to pixels (it was built with an image tokenizer or decoder). */
    public boolean hasImageDecoder() {
        return pipeline.hasImageDecoder();
    }

    /**
     * Whether this generator can encode pictures to frames ({@link #encodeFrame}): it was built with an image
     * tokenizer checkpoint that holds the VQ-VAE's encoder (a decode-only checkpoint cannot).
     */
    public boolean hasImageEncoder() {
        return imageTokenizer != null && !imageTokenizer.config().encodeRates().isEmpty();
    }

    /** Side in pixels of the square frames the model makes and {@link #encodeFrame} encodes to (160 for CogVideo). */
    public int frameSize() {
        return frameGrid() * ImageTokenizer.COGVIDEO_COMPRESS_RATE;
    }

    private int frameGrid() {
        return (int) Math.round(Math.sqrt(pipeline.frameLength()));
    }

    /**
     * Encodes a picture into one frame's token grid, as icetk does for CogVideo: {@code Resize} of the shorter side
     * to {@link #frameSize()}, {@code CenterCrop} to a square, then the VQ-VAE encoder at compress rate
     * {@value ImageTokenizer#COGVIDEO_COMPRESS_RATE}. For {@link GenerationRequest.Builder#givenFrames} (image to
     * video) and {@link GenerationRequest.Builder#inputVideo} (interpolation). Thread-safe.
     *
     * @return [frameLength] token ids, row-major
     * @throws CogVideoException if this generator is closed, has no image tokenizer, or its checkpoint holds decoders
     *                           only; or the picture is empty or the tokenizer does not make the model's frames
     */
    public int[] encodeFrame(BufferedImage picture) {
        Objects.requireNonNull(picture, "picture");
        enter(null);
        try {
            return encodeOpen(picture);
        } finally {
            exit(null);
        }
    }

    private int[] encodeOpen(BufferedImage picture) {
        requireImageEncoder();
        if (picture.getWidth() <= 0 || picture.getHeight() <= 0) {
            throw new CogVideoException("picture of size " + picture.getWidth() + "x" + picture.getHeight()
                    + " is empty");
        }
        int[] ids;
        try {
            ids = imageTokenizer.encode(picture, frameSize(), ImageTokenizer.COGVIDEO_COMPRESS_RATE);
        } catch (IllegalArgumentException e) {
            throw new CogVideoException("cannot encode a " + picture.getWidth() + "x" + picture.getHeight()
                    + " picture: " + e.getMessage(), e);
        }
        if (ids.length != pipeline.frameLength()) {
            throw new CogVideoException("the image tokenizer made " + ids.length + " tokens of a " + frameSize() + "x"
                    + frameSize() + " picture but the model's frames have " + pipeline.frameLength());
        }
        return ids;
    }

    /** {@link #encodeFrame} of every picture, in order. */
    public List<int[]> encodeFrames(List<BufferedImage> pictures) {
        Objects.requireNonNull(pictures, "pictures");
        enter(null);
        try {
            requireImageEncoder(); // before the first picture
            List<int[]> out = new ArrayList<>(pictures.size());
            for (BufferedImage p : pictures) {
                Objects.requireNonNull(p, "picture");
                out.add(encodeOpen(p));
            }
            return out;
        } finally {
            exit(null);
        }
    }

    /**
     * Fails unless {@link #hasImageEncoder()}: a message that says why (no tokenizer, or one with decoders only) and
     * what to do. Cheap; callers use it before any work that needs encoding.
     */
    public void requireImageEncoder() {
        if (imageTokenizer == null) {
            throw new CogVideoException("this generator has no image tokenizer, so it cannot encode pictures to "
                    + "frames: build it with VideoGenerator.Builder#imageTokenizer (a VQ-VAE checkpoint with its "
                    + "encoder, such as icetk's ice_image.pt)");
        }
        if (imageTokenizer.config().encodeRates().isEmpty()) {
            throw new CogVideoException("the image tokenizer of this generator holds decoders only (no 'enc.*' "
                    + "tensors), so it cannot encode pictures to frames: give a VQ-VAE checkpoint with its encoder, "
                    + "such as icetk's ice_image.pt");
        }
    }

    /**
     * Generates a video. Every request field, and every backend capability the request needs, is checked before any
     * work; the seed used is reported in the result. With an image decoder the result has pixels.
     *
     * @throws CogVideoException             for an invalid request (the message names the field and range) or a
     *                                       backend that lacks an op pack the request needs
     * @throws GenerationCancelledException if cancelled or interrupted; it carries the finished stages (tokens)
     */
    public Video generate(GenerationRequest request) {
        Objects.requireNonNull(request, "request");
        // a private flag per run, following the caller's: close() stops this run without touching the caller's flag
        Cancellation run = new Cancellation(request.cancellation());
        enter(run);
        try {
            GenerationRequest r = request.toBuilder().cancellation(run).build();
            RequestPlan plan = pipeline.plan(r);
            checkResultFits(r);
            long seed = r.seed() != null ? r.seed() : new SecureRandom().nextLong();
            LOG.info("Generating {} frame(s) at {} fps, {} sample(s), seed {}, on {}", r.frameCount(),
                    r.frameRate(), r.samples(), seed, backend.description());
            Video v;
            try {
                v = pipeline.generate(plan, seed);
            } catch (GenerationCancelledException e) {
                if (run.cancelledHere() && !request.cancellation().isCancelled()) {
                    throw new GenerationCancelledException("this VideoGenerator was closed during the run ("
                            + e.getMessage() + ")", e.partial());
                }
                throw e;
            }
            LOG.info("Done in {} ms: {}", v.totalTime().toMillis(), v.timings());
            return v;
        } finally {
            exit(run);
        }
    }

    /**
     * Fails before any work when the result of {@code r} (tokens, and pixels when decoded) would take more than half
     * of the heap the JVM may use ({@code -Xmx}); the message names the samples, the estimate and the limit.
     */
    private void checkResultFits(GenerationRequest r) {
        boolean sr = pipeline.hasSuperResolution() && r.superResolution();
        long side = (long) frameSize() * (sr ? 3 : 1);
        long tokens = (long) pipeline.frameLength() * (sr ? 9 : 1);
        boolean pixels = r.decodePixels() && pipeline.hasImageDecoder();
        // tokens as int[] in the result and the pipeline's copies; pixels as ARGB images, decoded and copied
        long perFrame = tokens * Integer.BYTES * 2 + (pixels ? side * side * Integer.BYTES * 2 : 0);
        long perSample = perFrame * r.frameCount();
        long budget = Runtime.getRuntime().maxMemory() / 2;
        if (perSample * r.samples() > budget) {
            throw new CogVideoException("samples " + r.samples() + " x " + r.frameCount() + " frames would take about "
                    + (perSample * r.samples() >> 20) + " MiB for the result, more than half of the "
                    + (Runtime.getRuntime().maxMemory() >> 20) + " MiB the JVM may use (-Xmx): at most "
                    + Math.max(0, budget / perSample) + " samples of this request fit; ask for fewer, or give the "
                    + "JVM more memory");
        }
    }

    /** Registers a call that uses the backend; fails if this generator is closed. */
    private void enter(Cancellation run) {
        synchronized (lifecycle) {
            checkOpen();
            inFlight++;
            if (run != null) {
                runs.add(run);
            }
        }
        depth.get()[0]++;
    }

    /** Ends a call; the last one out of a closed generator frees it. */
    private void exit(Cancellation run) {
        depth.get()[0]--;
        boolean release;
        synchronized (lifecycle) {
            if (run != null) {
                runs.remove(run);
            }
            inFlight--;
            release = closed && inFlight == 0 && !released;
            if (release) {
                released = true;
            }
            lifecycle.notifyAll();
        }
        if (release) {
            releaseResources();
        }
    }

    /**
     * Decodes a video's frames to pixels, for a video of tokens only (the partial result of a cancelled request, or
     * tokens made elsewhere); a video that has pixels is returned as it is. Thread-safe.
     *
     * @return the video with pixels (its timings gain {@link GenerationStage#DECODING})
     * @throws CogVideoException if this generator is closed or has no image decoder, or a frame does not have the
     *                           token count or ids this generator makes
     */
    public Video decode(Video video) {
        Objects.requireNonNull(video, "video");
        enter(null);
        try {
            return pipeline.decode(video);
        } finally {
            exit(null);
        }
    }

    /** Shorthand for a request with defaults and this prompt. */
    public Video generate(String prompt) {
        return generate(GenerationRequest.builder().prompt(prompt).build());
    }

    private void checkOpen() {
        if (closed) {
            throw new CogVideoException("this VideoGenerator is closed");
        }
    }

    /**
     * Frees the models' weights, the image tokenizer, and the backend if the builder created it (a backend given to
     * {@link Builder#backend(Backend)} stays open). Runs in flight on other threads are stopped (they end with a
     * {@link GenerationCancelledException}) and waited for first; called from inside a run, the memory is freed when
     * the last run has left. Idempotent.
     */
    @Override
    public void close() {
        boolean release;
        boolean interrupted = false;
        synchronized (lifecycle) {
            if (!closed) {
                closed = true;
                for (Cancellation run : runs) {
                    run.cancel();
                }
            }
            // a call made from inside a run (a listener) cannot wait for that run: the last one out frees
            if (depth.get()[0] == 0) {
                while (inFlight > 0) {
                    try {
                        lifecycle.wait();
                    } catch (InterruptedException e) {
                        interrupted = true; // still wait: freeing memory a run uses would crash it
                    }
                }
            }
            release = inFlight == 0 && !released;
            if (release) {
                released = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (release) {
            releaseResources();
        }
    }

    private void releaseResources() {
        try {
            pipeline.closeModels();
            if (imageTokenizer != null) {
                imageTokenizer.close();
            }
        } finally {
            if (ownsBackend) {
                backend.close();
            }
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
        private Backend backendInstance;
        private BackendOptions backendOptions = BackendOptions.defaults();
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

        /**
         * A backend instance to run on instead of one found by name (a host application's own or custom backend).
         * It is wrapped in the SPI's checking layer ({@link CheckedBackend#wrap}); the generator does not close it.
         */
        public Builder backend(Backend backend) {
            this.backendInstance = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** CPU threads for the backend the builder creates (0: all cores). */
        public Builder threads(int n) {
            this.backendOptions = new BackendOptions(n, backendOptions.weightDtype());
            return this;
        }

        /** A custom prompt tokenizer (instead of {@link #textTokenizer}). */
        public Builder promptEncoder(PromptEncoder encoder) {
            this.promptEncoder = Objects.requireNonNull(encoder, "encoder");
            return this;
        }

        /**
         * A custom frame decoder (instead of {@link #imageTokenizer}). If it runs on the generator's backend, let it
         * declare the op packs it needs ({@link ImageDecoder#requiredPacks}) so requests check them before any work.
         */
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

        /** See {@link GenerationRequest.Builder#inputVideo}. */
        public Builder inputVideo(List<int[]> frames) {
            request.inputVideo(frames);
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

        /**
         * Loads the models and returns a reusable generator. Fails before any weight is read if the backend lacks an
         * op pack that the configured models or tokenizers need.
         */
        public VideoGenerator build() {
            if (modelDir == null) {
                throw new CogVideoException("no model: call modelDir(...) with a CogVideo checkpoint folder");
            }
            boolean owns = backendInstance == null;
            if (!owns && (backendName != null || backendOptions.threads() != 0)) {
                throw new CogVideoException("backend(Backend) was given, so backend(name) and threads(n) do not apply;"
                        + " configure the backend instance itself, or leave backend(Backend) out");
            }
            CheckedBackend backend = owns ? Backends.create(backendName, backendOptions)
                    : CheckedBackend.wrap(backendInstance);
            ImageTokenizer tokenizer = null;
            try {
                ImageDecoder decoder = imageDecoder;
                if (imageTokenizer != null) {
                    // the same checks, in the same order, as ModelLoading makes before reading any weight
                    OpPacks.require(backend, FusedAttention.class, "the CogVideo transformer");
                    OpPacks.require(backend, VqVaeOps.class, decoder == null
                            ? "decoding frames to pixels (an image tokenizer was given)"
                            : "encoding pictures (an image tokenizer was given)");
                    // kept for encoding pictures (image to video, interpolation); it decodes unless a decoder is given
                    tokenizer = ImageTokenizer.load(imageTokenizer, backend);
                    if (decoder == null) {
                        // runs on the generator's backend: every request checks the pack again before any work
                        decoder = ImageDecoder.needing(Set.of(VqVaeOps.class), tokenizer.imageDecoder());
                    }
                }
                CogVideoPipeline pipeline = ModelLoading.pipeline(backend, modelDir, stage2ModelDir, textTokenizer,
                        null, clusterTable, superResolutionDir, promptEncoder, decoder);
                return new VideoGenerator(backend, pipeline, owns, tokenizer);
            } catch (RuntimeException e) {
                if (tokenizer != null) {
                    tokenizer.close();
                }
                if (owns) {
                    backend.close();
                }
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
}
