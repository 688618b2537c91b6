package io.cogvideo.generation;

import io.cogvideo.Cancellation;
import io.cogvideo.CogVideoException;
import io.cogvideo.GenerationCancelledException;
import io.cogvideo.GenerationListener;
import io.cogvideo.GenerationProgress;
import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.SequenceOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole CogVideo generation: stage 1 (first frame in image mode, then key frames 1-4 with guidance) and the
 * recursive stage-2 interpolation, as {@code cogvideo_pipeline.py} runs them. Immutable and thread-safe: every call
 * of {@link #generate} has its own caches and random generators.
 */
public final class CogVideoPipeline {
    /** The largest text prefix the original KV buffers allow (duration + {@code <n>} + prompt + suffix). */
    public static final int MAX_TEXT_TOKENS = 74;
    /** Suffix of the first-frame prompt ("HD photography"). */
    public static final String FIRST_FRAME_SUFFIX = " 高清摄影";
    /** Suffix of the stage-1 prompt when guidance is on ("video"). */
    public static final String VIDEO_SUFFIX = " 视频";
    /** The unconditional text of classifier-free guidance. */
    public static final String GUIDANCE_TEXT = "视频";
    /** Stage-1 clip duration in seconds (5 key frames over 4 s). */
    public static final double KEY_FRAME_DURATION = 4.0;

    private static final Logger LOG = LoggerFactory.getLogger(CogVideoPipeline.class);
    private static final int KEY_FRAMES = 5;

    private final CogVideoModel stage1;
    private final CogVideoModel stage2;
    private final int stage2Window;
    private final PromptEncoder encoder;
    private final int[] clusterTable;
    private final ImageDecoder decoder;
    private final SuperResolution superResolution;

    /**
     * @param stage1       the stage-1 model (sequential)
     * @param stage2       the stage-2 model (interpolation); may be the same instance for tests and demos
     * @param stage2Window spatial window of stage 2 (10 in the released model)
     * @param encoder      prompt tokenizer
     * @param clusterTable cluster of each image token for the sampler, or {@code null} for plain top-k sampling
     * @param decoder      image decoder for pixels, or {@code null}
     */
    public CogVideoPipeline(CogVideoModel stage1, CogVideoModel stage2, int stage2Window, PromptEncoder encoder,
            int[] clusterTable, ImageDecoder decoder) {
        this(stage1, stage2, stage2Window, encoder, clusterTable, decoder, null);
    }

    /**
     * As above, with CogView2's direct super-resolution after stage 2 ({@code null}: frames stay 20x20 tokens).
     */
    public CogVideoPipeline(CogVideoModel stage1, CogVideoModel stage2, int stage2Window, PromptEncoder encoder,
            int[] clusterTable, ImageDecoder decoder, SuperResolution superResolution) {
        for (CogVideoModel m : new CogVideoModel[] {stage1, stage2}) {
            if (m.config().frameCount() != KEY_FRAMES) {
                throw new CogVideoException("the CogVideo pipeline needs models of " + KEY_FRAMES
                        + " frames per sequence; this one has " + m.config().frameCount());
            }
        }
        if (stage1.config().frameLength() != stage2.config().frameLength()) {
            throw new CogVideoException("stage-1 and stage-2 models disagree on the frame length: "
                    + stage1.config().frameLength() + " vs " + stage2.config().frameLength());
        }
        if (clusterTable != null && clusterTable.length != stage1.config().imageVocabSize()) {
            throw new CogVideoException("cluster table covers " + clusterTable.length + " tokens but the model has "
                    + stage1.config().imageVocabSize() + " image tokens");
        }
        this.stage1 = stage1;
        this.stage2 = stage2;
        this.stage2Window = stage2Window;
        this.encoder = encoder;
        this.clusterTable = clusterTable == null ? null : clusterTable.clone();
        this.decoder = decoder;
        if (superResolution != null && superResolution.config().lowResTokens() != stage1.config().frameLength()) {
            throw new CogVideoException("the super-resolution model lifts frames of "
                    + superResolution.config().lowResTokens() + " tokens but the video model makes frames of "
                    + stage1.config().frameLength());
        }
        this.superResolution = superResolution;
    }

    /** Whether a super-resolution model is configured. */
    public boolean hasSuperResolution() {
        return superResolution != null;
    }

    public PromptEncoder encoder() {
        return encoder;
    }

    public int frameLength() {
        return stage1.config().frameLength();
    }

    /** Text prefixes a request will use, for validation and display. */
    public record TextPlan(int[] prompt, int[] firstFrame, int[] keyFrames, int[] guider, List<int[]> stage2) {
    }

    /**
     * The text prefixes CogVideo builds for a prompt (without the trailing {@code <start_of_image>}): first frame
     * {@code prompt + " 高清摄影"}; key frames {@code "4.0秒" <n> prompt (+ " 视频" with guidance)}; the guider
     * {@code "4.0秒" <n> "视频"}; interpolation round r {@code "<4/2^r>秒" <n> prompt}.
     */
    public static TextPlan textPlan(PromptEncoder encoder, String prompt, boolean guidance, int frameRate) {
        int nl = encoder.newline();
        int[] promptIds = encoder.encode(prompt);
        int[] first = encoder.encode(prompt + FIRST_FRAME_SUFFIX);
        int[] key = concat(encoder.duration(KEY_FRAME_DURATION), new int[] {nl},
                encoder.encode(guidance ? prompt + VIDEO_SUFFIX : prompt));
        int[] guider = concat(encoder.duration(KEY_FRAME_DURATION), new int[] {nl}, encoder.encode(GUIDANCE_TEXT));
        List<int[]> s2 = new ArrayList<>();
        double d = KEY_FRAME_DURATION / 2;
        for (int round = 1; (1 << round) <= frameRate; round++, d /= 2) {
            s2.add(concat(encoder.duration(d), new int[] {nl}, promptIds));
        }
        return new TextPlan(promptIds, first, key, guider, s2);
    }

    /** Builds and checks the text prefixes of a request (the prompt's token budget). */
    public TextPlan plan(GenerationRequest r) {
        TextPlan p = textPlan(encoder, r.prompt(), r.guidance(), r.frameRate());
        int longest = Math.max(p.firstFrame().length, p.keyFrames().length);
        for (int[] t : p.stage2()) {
            longest = Math.max(longest, t.length);
        }
        if (longest > MAX_TEXT_TOKENS) {
            throw new CogVideoException("prompt is too long: it makes a text prefix of " + longest
                    + " tokens (duration + <n> + " + p.prompt().length + " prompt tokens + suffix); at most "
                    + MAX_TEXT_TOKENS + " are allowed");
        }
        int vocab = stage1.config().vocabSize();
        for (int[] t : new int[][] {p.firstFrame(), p.keyFrames(), p.guider()}) {
            for (int id : t) {
                if (id < 0 || id >= vocab) {
                    throw new CogVideoException("the tokenizer produced id " + id + ", outside the model's vocabulary [0, "
                            + vocab + "): tokenizer and checkpoint do not match");
                }
            }
        }
        return p;
    }

    /** Validates everything that depends on the model, before any work. */
    public void validate(GenerationRequest r) {
        int clusters = clusterTable == null ? 0 : new ClusterSampler(clusterTable, 1, 1, 1).clusterCount();
        if (clusterTable != null) {
            if (r.topKClusters() > clusters) {
                throw new CogVideoException("topKClusters must be in [1, " + clusters + "], got " + r.topKClusters());
            }
            if (r.firstFrameTopKClusters() > clusters) {
                throw new CogVideoException("firstFrameTopKClusters must be in [1, " + clusters + "], got "
                        + r.firstFrameTopKClusters());
            }
        }
        int fl = frameLength();
        int vocab = stage1.config().imageVocabSize();
        List<int[]> given = r.givenFrames();
        for (int i = 0; i < given.size(); i++) {
            int[] f = given.get(i);
            if (f.length != fl) {
                throw new CogVideoException("given frame " + i + " has " + f.length + " tokens; frames have " + fl
                        + " (" + stage1.config().frameGrid() + "x" + stage1.config().frameGrid() + ")");
            }
            for (int t : f) {
                if (t < 0 || t >= vocab) {
                    throw new CogVideoException("given frame " + i + " holds token " + t + ", outside the image vocabulary [0, "
                            + vocab + ")");
                }
            }
        }
        plan(r);
    }

    /** Runs a request to the end. Throws {@link GenerationCancelledException} when cancelled. */
    public Video generate(GenerationRequest r, long seed) {
        validate(r);
        TextPlan plan = plan(r);
        int samples = r.samples();
        int fl = frameLength();
        Map<GenerationStage, Duration> timings = new EnumMap<>(GenerationStage.class);
        Control control = new Control(r.listener(), r.cancellation(), r.maxBatchSize());
        int vocab = stage1.config().imageVocabSize();

        TokenSampler firstSampler = sampler(r.firstFrameTemperature(), r.firstFrameTopKClusters(), r.temperature2(), vocab);
        TokenSampler mainSampler = sampler(r.temperature(), r.topKClusters(), r.temperature2(), vocab);

        // ---- stage 1: key frames [samples][5][L]
        int[][][] keys = new int[samples][KEY_FRAMES][fl];
        List<int[]> given = r.givenFrames();
        for (int s = 0; s < samples; s++) {
            for (int i = 0; i < given.size(); i++) {
                keys[s][i] = given.get(i).clone();
            }
        }
        Video done;
        if (given.isEmpty()) {
            long t0 = System.nanoTime();
            control.begin(GenerationStage.FIRST_FRAME, samples, fl);
            for (int from = 0; from < samples; from += r.maxBatchSize()) {
                int b = Math.min(r.maxBatchSize(), samples - from);
                int[][][] frames = new int[b][1][fl];
                FrameFiller.run(new FrameFiller.Job(stage1, SequenceOptions.firstFrame(1.4f), repeat(plan.firstFrame(), b),
                        null, 1, frames, 0, encoder.startOfImage(), firstSampler, mainSampler,
                        rngs(seed, 0, from, b, 0), control.observer(from, samples)));
                for (int i = 0; i < b; i++) {
                    keys[from + i][0] = frames[i][0];
                }
            }
            timings.put(GenerationStage.FIRST_FRAME, Duration.ofNanos(System.nanoTime() - t0));
        }
        int firstGenerated = Math.max(1, given.size());
        if (firstGenerated < KEY_FRAMES) {
            long t0 = System.nanoTime();
            control.begin(GenerationStage.KEY_FRAMES, samples, (KEY_FRAMES - firstGenerated) * fl);
            float boost = r.guidance() ? 0f : (float) r.textBoost();
            for (int from = 0; from < samples; from += r.maxBatchSize()) {
                int b = Math.min(r.maxBatchSize(), samples - from);
                int[][][] frames = new int[b][][];
                for (int i = 0; i < b; i++) {
                    frames[i] = copy(keys[from + i]);
                }
                FrameFiller.run(new FrameFiller.Job(stage1, SequenceOptions.stage1(boost, true), repeat(plan.keyFrames(), b),
                        r.guidance() ? repeat(plan.guider(), b) : null, r.guidanceAlpha(), frames, firstGenerated,
                        encoder.startOfImage(), firstSampler, mainSampler, rngs(seed, 1, from, b, 0),
                        control.observer(from, samples)));
                for (int i = 0; i < b; i++) {
                    keys[from + i] = frames[i];
                }
            }
            timings.put(GenerationStage.KEY_FRAMES, Duration.ofNanos(System.nanoTime() - t0));
        }
        done = new Video(keys, 1, seed, timings, plan.prompt(), decoder);
        control.partial = done;
        LOG.info("Stage 1 done: {} sample(s) x {} key frames in {} ms", samples, KEY_FRAMES,
                done.totalTime().toMillis());

        // ---- stage 2: interpolation rounds
        int[][][] parents = keys;
        for (int round = 1; round <= plan.stage2().size(); round++) {
            long t0 = System.nanoTime();
            int n = parents[0].length;
            int windows = (n - 1) / 2;
            int total = samples * windows;
            GenerationStage stage = GenerationStage.interpolation(round);
            control.begin(stage, total, 2 * fl);
            int[][][] generated = new int[total][][];
            for (int from = 0; from < total; from += r.maxBatchSize()) {
                int b = Math.min(r.maxBatchSize(), total - from);
                int[][][] frames = new int[b][KEY_FRAMES][];
                for (int i = 0; i < b; i++) {
                    int s = (from + i) / windows;
                    int w = (from + i) % windows;
                    frames[i][0] = parents[s][2 * w].clone();
                    frames[i][1] = parents[s][2 * w + 1].clone();
                    frames[i][2] = parents[s][2 * w + 2].clone();
                    frames[i][3] = new int[fl];
                    frames[i][4] = new int[fl];
                }
                FrameFiller.run(new FrameFiller.Job(stage2, SequenceOptions.stage2(stage2Window, (float) r.textBoost()),
                        repeat(plan.stage2().get(round - 1), b), null, 1, frames, 3, encoder.startOfImage(),
                        mainSampler, mainSampler, rngs(seed, 1 + round, from, b, 0), control.observer(from, total)));
                for (int i = 0; i < b; i++) {
                    generated[from + i] = frames[i];
                }
            }
            int[][][] merged = new int[samples][2 * n - 1][];
            for (int s = 0; s < samples; s++) {
                for (int w = 0; w < windows; w++) {
                    int[][] win = generated[s * windows + w];
                    merged[s][4 * w] = win[0];     // parent 2w, temporal slot 0
                    merged[s][4 * w + 1] = win[3]; // generated, slot 1
                    merged[s][4 * w + 2] = win[1]; // parent 2w+1, slot 2
                    merged[s][4 * w + 3] = win[4]; // generated, slot 3
                }
                merged[s][4 * windows] = generated[s * windows + windows - 1][2]; // last parent, slot 4
            }
            parents = merged;
            timings.put(stage, Duration.ofNanos(System.nanoTime() - t0));
            done = new Video(parents, 1 << round, seed, timings, plan.prompt(), decoder);
            control.partial = done;
            LOG.info("Interpolation round {} done: {} frames per sample", round, parents[0].length);
        }
        if (superResolution != null && r.superResolution()) {
            long t0 = System.nanoTime();
            List<int[]> all = new ArrayList<>();
            for (int[][] sample : parents) {
                all.addAll(List.of(sample));
            }
            control.begin(GenerationStage.SUPER_RESOLUTION, 1, all.size());
            RandomGenerator[] g = rngs(seed, 16, 0, all.size(), 0);
            List<int[]> lifted = superResolution.lift(all, plan.prompt(), g, r.maxBatchSize(),
                    control.frameObserver(all.size()));
            int frames = parents[0].length;
            int[][][] hi = new int[samples][frames][];
            for (int i = 0; i < lifted.size(); i++) {
                hi[i / frames][i % frames] = lifted.get(i);
            }
            parents = hi;
            timings.put(GenerationStage.SUPER_RESOLUTION, Duration.ofNanos(System.nanoTime() - t0));
            LOG.info("Super-resolution done: {} frames of {} tokens", lifted.size(), lifted.get(0).length);
        }
        List<List<java.awt.image.BufferedImage>> images = null;
        if (decoder != null) {
            long t0 = System.nanoTime();
            int frames = parents[0].length;
            control.begin(GenerationStage.DECODING, 1, samples * frames);
            control.partial = new Video(parents, r.frameRate(), seed, timings, plan.prompt(), decoder);
            SuperResolution.BatchObserver obs = control.frameObserver(samples * frames);
            images = new ArrayList<>();
            for (int s = 0; s < samples; s++) {
                List<java.awt.image.BufferedImage> row = new ArrayList<>();
                for (int f = 0; f < frames; f++) {
                    row.add(decoder.decode(parents[s][f]));
                    obs.afterBatch(s * frames + f + 1);
                }
                images.add(row);
            }
            timings.put(GenerationStage.DECODING, Duration.ofNanos(System.nanoTime() - t0));
        }
        return new Video(parents, r.frameRate(), seed, timings, plan.prompt(), decoder, images);
    }

    private TokenSampler sampler(double temperature, int topK, double temperature2, int vocab) {
        if (clusterTable != null) {
            return new ClusterSampler(clusterTable, temperature, topK, temperature2);
        }
        return new TopKTopPSampler(temperature * temperature2, Math.min(vocab, 50 * topK), 0);
    }

    /**
     * One random generator per sequence, derived from the request seed, the stage and the sequence's index, so that
     * tokens do not depend on how sequences are grouped into batches.
     */
    private static RandomGenerator[] rngs(long seed, int stage, int from, int count, int salt) {
        RandomGenerator[] out = new RandomGenerator[count];
        for (int i = 0; i < count; i++) {
            long s = mix(mix(mix(seed) ^ (stage * 0x9E3779B97F4A7C15L)) ^ ((from + i) * 0xC2B2AE3D27D4EB4FL) ^ salt);
            out[i] = RandomGeneratorFactory.of("L64X128MixRandom").create(s);
        }
        return out;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static int[][] repeat(int[] row, int n) {
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) {
            out[i] = row.clone();
        }
        return out;
    }

    private static int[][] copy(int[][] a) {
        int[][] c = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    /** Progress reporting and cancellation checks for one request. */
    private static final class Control {
        private final GenerationListener listener;
        private final Cancellation cancellation;
        private final int maxBatch;
        private GenerationStage stage;
        private int perSequence;
        private long start;
        Video partial;

        Control(GenerationListener listener, Cancellation cancellation, int maxBatch) {
            this.listener = listener;
            this.cancellation = cancellation;
            this.maxBatch = maxBatch;
        }

        /** A stage of {@code sequences} sequences, run in batches of at most {@code maxBatch}. */
        void begin(GenerationStage s, int sequences, int stepsPerSequence) {
            this.stage = s;
            this.perSequence = stepsPerSequence;
            this.start = System.nanoTime();
            check();
        }

        /** Steps of a stage: the token steps of each batch, batches one after another. */
        FrameFiller.StepObserver observer(int batchStart, int totalSequences) {
            int batches = (totalSequences + maxBatch - 1) / maxBatch;
            int before = batchStart / maxBatch * perSequence;
            int total = batches * perSequence;
            return (done, perBatch) -> {
                check();
                listener.onProgress(new GenerationProgress(stage, before + done, total,
                        Duration.ofNanos(System.nanoTime() - start)));
            };
        }

        /** Steps counted in frames, for stages that work a batch of frames at a time. */
        SuperResolution.BatchObserver frameObserver(int total) {
            return done -> {
                check();
                listener.onProgress(new GenerationProgress(stage, done, total,
                        Duration.ofNanos(System.nanoTime() - start)));
            };
        }

        void check() {
            if (cancellation.isCancelled() || Thread.currentThread().isInterrupted()) {
                boolean interrupted = Thread.interrupted();
                throw new GenerationCancelledException("generation cancelled during " + stage
                        + (interrupted ? " (thread interrupted)" : ""), partial);
            }
        }
    }
}
