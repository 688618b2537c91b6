package io.cogvideo;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One text-to-video request. Immutable; validated when built (values that depend on the model, such as the prompt's
 * token budget, are checked by {@link VideoGenerator#generate} before any work). Defaults are those of the released
 * CogVideo pipeline ({@code scripts/inference_cogvideo_pipeline.sh}) unless noted.
 */
public final class GenerationRequest {
    /** Frame rates the model was trained for: key frames at 1 fps, each interpolation round doubles it. */
    public static final Set<Integer> FRAME_RATES = Set.of(1, 2, 4, 8);
    /**
     * Frame counts an input video for interpolation may have: 5, 9 or 17 frames over the 4-second clip (1, 2 or
     * 4 fps), the frames the pipeline has after stage 1 and after interpolation rounds 1 and 2.
     */
    public static final List<Integer> INPUT_VIDEO_FRAMES = List.of(5, 9, 17);
    /**
     * Most samples one request may ask for (the released script makes 4). The generator also checks that the
     * result fits in the memory the JVM may use before any work ({@link VideoGenerator#generate}).
     */
    public static final int MAX_SAMPLES = 1024;
    /**
     * Lowest temperature accepted (any of them). Logits divided by a smaller one overflow to infinity, and the
     * product with the in-cluster factor could underflow to 0; values are compared as given, never converted first.
     */
    public static final double MIN_TEMPERATURE = 1e-4;
    /** Highest temperature accepted (any of them); above it sampling is uniform to double precision anyway. */
    public static final double MAX_TEMPERATURE = 1e4;

    private final String prompt;
    private final int frameRate;
    private final Long seed;
    private final int samples;
    private final int topKClusters;
    private final int firstFrameTopKClusters;
    private final double temperature;
    private final double firstFrameTemperature;
    private final double temperature2;
    private final boolean guidance;
    private final double guidanceAlpha;
    private final double textBoost;
    private final int maxBatchSize;
    private final boolean superResolution;
    private final boolean decodePixels;
    private final List<int[]> givenFrames;
    private final List<int[]> inputVideo;
    private final GenerationListener listener;
    private final Cancellation cancellation;

    private GenerationRequest(Builder b) {
        this.prompt = b.prompt;
        this.frameRate = b.frameRate;
        this.seed = b.seed;
        this.samples = b.samples;
        this.topKClusters = b.topKClusters;
        this.firstFrameTopKClusters = b.firstFrameTopKClusters;
        this.temperature = b.temperature;
        this.firstFrameTemperature = b.firstFrameTemperature;
        this.temperature2 = b.temperature2;
        this.guidance = b.guidance;
        this.guidanceAlpha = b.guidanceAlpha;
        this.textBoost = b.textBoost;
        this.maxBatchSize = b.maxBatchSize;
        this.superResolution = b.superResolution;
        this.decodePixels = b.decodePixels;
        List<int[]> frames = new ArrayList<>();
        for (int[] f : b.givenFrames) {
            frames.add(f.clone());
        }
        this.givenFrames = List.copyOf(frames);
        this.inputVideo = copyFrames(b.inputVideo);
        this.listener = b.listener;
        this.cancellation = b.cancellation;
    }

    public static Builder builder() {
        return new Builder();
    }

    private static List<int[]> copyFrames(List<int[]> in) {
        List<int[]> frames = new ArrayList<>();
        for (int[] f : in) {
            frames.add(f.clone());
        }
        return List.copyOf(frames);
    }

    /** A builder holding this request's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.prompt = prompt;
        b.frameRate = frameRate;
        b.seed = seed;
        b.samples = samples;
        b.topKClusters = topKClusters;
        b.firstFrameTopKClusters = firstFrameTopKClusters;
        b.temperature = temperature;
        b.firstFrameTemperature = firstFrameTemperature;
        b.temperature2 = temperature2;
        b.guidance = guidance;
        b.guidanceAlpha = guidanceAlpha;
        b.textBoost = textBoost;
        b.maxBatchSize = maxBatchSize;
        b.superResolution = superResolution;
        b.decodePixels = decodePixels;
        b.givenFrames = new ArrayList<>(givenFrames);
        b.inputVideo = new ArrayList<>(inputVideo);
        b.listener = listener;
        b.cancellation = cancellation;
        return b;
    }

    public String prompt() {
        return prompt;
    }

    public int frameRate() {
        return frameRate;
    }

    /** The seed, or {@code null} to draw one (reported in the result). */
    public Long seed() {
        return seed;
    }

    public int samples() {
        return samples;
    }

    public int topKClusters() {
        return topKClusters;
    }

    public int firstFrameTopKClusters() {
        return firstFrameTopKClusters;
    }

    public double temperature() {
        return temperature;
    }

    public double firstFrameTemperature() {
        return firstFrameTemperature;
    }

    public double temperature2() {
        return temperature2;
    }

    public boolean guidance() {
        return guidance;
    }

    public double guidanceAlpha() {
        return guidanceAlpha;
    }

    public double textBoost() {
        return textBoost;
    }

    public int maxBatchSize() {
        return maxBatchSize;
    }

    /** Whether frames are lifted to 480x480 when a super-resolution model is configured. */
    public boolean superResolution() {
        return superResolution;
    }

    /** Whether the result carries pixels when the generator has an image decoder (default on). */
    public boolean decodePixels() {
        return decodePixels;
    }

    /** Given leading key frames as token grids (row-major), copies. */
    public List<int[]> givenFrames() {
        List<int[]> out = new ArrayList<>();
        for (int[] f : givenFrames) {
            out.add(f.clone());
        }
        return out;
    }

    /**
     * The low-frame-rate video to interpolate, as token grids (row-major), copies; empty for text-to-video. When
     * present the pipeline runs only the stage-2 rounds from the input's rate up to {@link #frameRate()}.
     */
    public List<int[]> inputVideo() {
        List<int[]> out = new ArrayList<>();
        for (int[] f : inputVideo) {
            out.add(f.clone());
        }
        return out;
    }

    /** Whether this request interpolates a given video ({@link #inputVideo()} is not empty). */
    public boolean hasInputVideo() {
        return !inputVideo.isEmpty();
    }

    /**
     * The frame rate of the input video over the 4-second clip ({@code (frames - 1) / 4}: 1, 2 or 4), or 0 without
     * one.
     */
    public int inputFrameRate() {
        return inputVideo.isEmpty() ? 0 : (inputVideo.size() - 1) / 4;
    }

    public GenerationListener listener() {
        return listener;
    }

    public Cancellation cancellation() {
        return cancellation;
    }

    /** Frames of the result: 5 key frames, doubled minus one per interpolation round (5, 9, 17, 33). */
    public int frameCount() {
        return 4 * frameRate + 1;
    }

    /** Builder; every setter validates its argument, {@link #build()} checks the combination. */
    public static final class Builder {
        private String prompt;
        private int frameRate = 8;
        private Long seed;
        private int samples = 1;
        private int topKClusters = 12;
        private int firstFrameTopKClusters = 16;
        private double temperature = 1.05;
        private double firstFrameTemperature = 1.0;
        private double temperature2 = 0.89;
        private boolean guidance = true;
        private double guidanceAlpha = 3.0;
        private double textBoost = 1.4;
        private int maxBatchSize = 8;
        private boolean superResolution = true;
        private boolean decodePixels = true;
        private List<int[]> givenFrames = new ArrayList<>();
        private List<int[]> inputVideo = new ArrayList<>();
        private GenerationListener listener = GenerationListener.NONE;
        private Cancellation cancellation = new Cancellation();

        private Builder() {
        }

        /** The prompt, in simplified Chinese as the released model was trained (required, not blank). */
        public Builder prompt(String prompt) {
            if (prompt == null || prompt.isBlank()) {
                throw new CogVideoException("prompt must not be empty or blank, got " + (prompt == null ? "null"
                        : "\"" + prompt + "\""));
            }
            this.prompt = prompt;
            return this;
        }

        /** Frames per second over the 4-second clip: 1, 2, 4 or 8 (default 8: 33 frames). */
        public Builder frameRate(int fps) {
            if (!FRAME_RATES.contains(fps)) {
                throw new CogVideoException("frameRate must be one of 1, 2, 4, 8 (5, 9, 17, 33 frames over 4 s), got "
                        + fps);
            }
            this.frameRate = fps;
            return this;
        }

        /** Seed of the request's random generator; the same seed, backend and inputs give the same tokens. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Videos to make from the prompt, 1 to {@value #MAX_SAMPLES} (default 1; the original script makes 4). */
        public Builder samples(int n) {
            if (n < 1 || n > MAX_SAMPLES) {
                throw new CogVideoException("samples must be in [1, " + MAX_SAMPLES + "], got " + n);
            }
            this.samples = n;
            return this;
        }

        /** Clusters kept by the sampler for stage 1 frames 1-4 and stage 2 (default 12). */
        public Builder topKClusters(int k) {
            if (k < 1) {
                throw new CogVideoException("topKClusters must be >= 1, got " + k);
            }
            this.topKClusters = k;
            return this;
        }

        /** Clusters kept for the first frame (default 16). */
        public Builder firstFrameTopKClusters(int k) {
            if (k < 1) {
                throw new CogVideoException("firstFrameTopKClusters must be >= 1, got " + k);
            }
            this.firstFrameTopKClusters = k;
            return this;
        }

        /**
         * Softmax temperature of the cluster choice (default 1.05), in [{@value #MIN_TEMPERATURE},
         * {@value #MAX_TEMPERATURE}].
         */
        public Builder temperature(double t) {
            this.temperature = positive("temperature", t);
            return this;
        }

        /** Temperature of the first frame (default 1.0), in [{@value #MIN_TEMPERATURE}, {@value #MAX_TEMPERATURE}]. */
        public Builder firstFrameTemperature(double t) {
            this.firstFrameTemperature = positive("firstFrameTemperature", t);
            return this;
        }

        /**
         * In-cluster temperature factor (default 0.89; the effective in-cluster temperature is the product), in
         * [{@value #MIN_TEMPERATURE}, {@value #MAX_TEMPERATURE}].
         */
        public Builder temperature2(double t) {
            this.temperature2 = positive("temperature2", t);
            return this;
        }

        /** Classifier-free guidance for key frames 1-4 with "视频" as the unconditional text (default on). */
        public Builder guidance(boolean on) {
            this.guidance = on;
            return this;
        }

        /** Guidance strength α in {@code uncond + α (cond - uncond)} (default 3.0, must be >= 0). */
        public Builder guidanceAlpha(double alpha) {
            if (!(alpha >= 0) || !Double.isFinite(alpha)) {
                throw new CogVideoException("guidanceAlpha must be >= 0, got " + alpha);
            }
            this.guidanceAlpha = alpha;
            return this;
        }

        /** Added to query-to-text attention scores wherever guidance is off (default 1.4). */
        public Builder textBoost(double boost) {
            if (!Double.isFinite(boost)) {
                throw new CogVideoException("textBoost must be finite, got " + boost);
            }
            this.textBoost = boost;
            return this;
        }

        /** Most sequences per model call (default 8; lower it to save memory). */
        public Builder maxBatchSize(int n) {
            if (n < 1) {
                throw new CogVideoException("maxBatchSize must be >= 1, got " + n);
            }
            this.maxBatchSize = n;
            return this;
        }

        /**
         * Lift every frame to 480x480 with CogView2's direct super-resolution when the generator has a DSR model
         * (default on; off gives 160x160 frames).
         */
        public Builder superResolution(boolean on) {
            this.superResolution = on;
            return this;
        }

        /**
         * Decode the frames to pixels when the generator has an image decoder (default on). Off, the result holds
         * tokens only (for a caller that writes tokens, saving the decoding time); {@link VideoGenerator#decode}
         * can still decode it later.
         */
        public Builder decodePixels(boolean on) {
            this.decodePixels = on;
            return this;
        }

        /**
         * Given leading key frames as token grids (image-to-video with one frame; continuation with more, up to 4).
         * Each must have the model's frame length (400 for CogVideo).
         */
        public Builder givenFrames(List<int[]> frames) {
            Objects.requireNonNull(frames, "frames");
            if (frames.size() > 4) {
                throw new CogVideoException("at most 4 given key frames (of 5), got " + frames.size());
            }
            for (int i = 0; i < frames.size(); i++) {
                if (frames.get(i) == null) {
                    throw new CogVideoException("given frame " + i + " is null");
                }
            }
            this.givenFrames = new ArrayList<>(frames);
            return this;
        }

        /**
         * A low-frame-rate video to interpolate, as token grids: 5 frames (key frames at 1 fps), 9 (2 fps) or 17
         * (4 fps) over the 4-second clip, each of the model's frame length (checked by the generator). The first
         * frame and the key frames are not generated: the pipeline runs only the stage-2 rounds that take the input
         * to {@link #frameRate} (5 -> 9 -> 17 -> 33), and keeps every input frame, frame {@code i} at index
         * {@code i * frameRate / inputRate} of the result. {@link #build()} requires a frame rate above the input's
         * and no {@link #givenFrames}. An empty list turns interpolation off.
         */
        public Builder inputVideo(List<int[]> frames) {
            Objects.requireNonNull(frames, "frames");
            if (!frames.isEmpty() && !INPUT_VIDEO_FRAMES.contains(frames.size())) {
                throw new CogVideoException("input video must have 5, 9 or 17 frames (1, 2 or 4 fps over 4 s), got "
                        + frames.size() + " frames");
            }
            for (int i = 0; i < frames.size(); i++) {
                if (frames.get(i) == null) {
                    throw new CogVideoException("input video frame " + i + " is null");
                }
            }
            this.inputVideo = new ArrayList<>(frames);
            return this;
        }

        /** Progress callback (default none). */
        public Builder listener(GenerationListener l) {
            this.listener = Objects.requireNonNull(l, "listener");
            return this;
        }

        /** A cancellation token (default: a private one). */
        public Builder cancellation(Cancellation c) {
            this.cancellation = Objects.requireNonNull(c, "cancellation");
            return this;
        }

        public GenerationRequest build() {
            if (prompt == null) {
                throw new CogVideoException("prompt is required");
            }
            if (!inputVideo.isEmpty()) {
                int inRate = (inputVideo.size() - 1) / 4;
                if (frameRate <= inRate) {
                    throw new CogVideoException("frameRate must be above the input video's " + inRate + " fps ("
                            + inputVideo.size() + " frames) to interpolate it; allowed: "
                            + allowedAbove(inRate) + ", got " + frameRate);
                }
                if (!givenFrames.isEmpty()) {
                    throw new CogVideoException("givenFrames and inputVideo cannot be combined: given key frames "
                            + "continue a video from its start, an input video is interpolated; got "
                            + givenFrames.size() + " given frame(s) and an input video of " + inputVideo.size()
                            + " frames");
                }
            }
            return new GenerationRequest(this);
        }

        private static String allowedAbove(int rate) {
            StringBuilder sb = new StringBuilder();
            for (int r = rate * 2; r <= 8; r *= 2) {
                sb.append(sb.length() == 0 ? "" : ", ").append(r);
            }
            return sb.toString();
        }

        private static double positive(String name, double v) {
            // compared as given: no conversion (to float, or a product) before the check can turn it into 0 or inf
            if (!(v >= MIN_TEMPERATURE && v <= MAX_TEMPERATURE)) {
                throw new CogVideoException(name + " must be > 0, in [" + MIN_TEMPERATURE + ", " + MAX_TEMPERATURE
                        + "], got " + v);
            }
            return v;
        }
    }
}
