package io.cogvideo.generation;

import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.CogVideoException;
import io.cogvideo.GenerationCancelledException;
import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.OpPacks;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole CogVideo generation, as {@code cogvideo_pipeline.py} runs it, orchestrated as stage objects: a request
 * is checked and tokenized once into a {@link RequestPlan} ({@link #plan}), then {@link #generate} runs
 * {@code FirstFrame} (frame 0 in image mode), {@code KeyFrames} (key frames 1-4, with guidance), one
 * {@code InterpolationRound} per doubling of the frame rate, {@link SuperResolution} and {@code Decoding}. The stages
 * share one batching helper ({@code Batches}), one per-sequence random derivation ({@code SequenceRandom}) and the
 * request's {@code RequestRun} (progress, cancellation, timings). Internal to the library: users go through
 * {@link io.cogvideo.VideoGenerator}. Immutable and thread-safe: every call of {@link #generate} has its own caches
 * and random generators.
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
    private final FirstFrame firstFrame;
    private final KeyFrames keyFrames;
    private final Decoding decoding;

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
        this.firstFrame = new FirstFrame(stage1, encoder.startOfImage());
        this.keyFrames = new KeyFrames(stage1, encoder.startOfImage());
        this.decoding = decoder == null ? null : new Decoding(decoder);
    }

    /**
     * Frees the weights of the video models (stage 1, and stage 2 when it is another model). The generator that built
     * this pipeline calls it once, when no run uses it any more.
     */
    public void closeModels() {
        stage1.weights().close();
        if (stage2 != stage1 && stage2.weights() != stage1.weights()) {
            stage2.weights().close();
        }
    }

    /** Whether a super-resolution model is configured. */
    public boolean hasSuperResolution() {
        return superResolution != null;
    }

    /** Whether an image decoder is configured (results then carry pixels). */
    public boolean hasImageDecoder() {
        return decoder != null;
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

    /**
     * Validates a request against this pipeline and tokenizes its text prefixes, once, before any work: the
     * capabilities of the backend that the request needs, the sampler settings, the given frames and the prompt's
     * token budget.
     *
     * @throws CogVideoException naming the field (or the missing capability) and what is allowed
     */
    public RequestPlan plan(GenerationRequest r) {
        Objects.requireNonNull(r, "request");
        boolean sr = superResolution != null && r.superResolution();
        boolean decode = decoder != null && r.decodePixels();
        requireCapabilities(sr, decode);
        checkClusters(r);
        checkGivenFrames("given frame ", r.givenFrames());
        checkGivenFrames("input video frame ", r.inputVideo());
        TextPlan text = textPlan(encoder, r.prompt(), r.guidance(), r.frameRate());
        checkText(text);
        if (sr) {
            superResolution.checkPrompt(text.prompt());
        }
        return new RequestPlan(this, r, text, sr, decode);
    }

    /** Validates everything that depends on the model, before any work (a plan made and dropped). */
    public void validate(GenerationRequest r) {
        plan(r);
    }

    /**
     * Every op pack the request's stages use, on the backend they run on; the models and the tokenizer already
     * check theirs when they load, this makes sure no request reaches a stage without them.
     */
    private void requireCapabilities(boolean superResolutionOn, boolean decode) {
        OpPacks.require(stage1.backend(), FusedAttention.class, "the CogVideo transformer");
        if (stage2 != stage1) {
            OpPacks.require(stage2.backend(), FusedAttention.class, "the stage-2 transformer");
        }
        if (superResolutionOn) {
            OpPacks.require(superResolution.backend(), LocalAttention.class, "super-resolution (it can be turned "
                    + "off per request: GenerationRequest.Builder#superResolution(false))");
        }
        if (decode) {
            requireDecoderPacks("decoding frames to pixels (without an image tokenizer the generator makes tokens "
                    + "only)");
        }
    }

    /** The op packs the image decoder declares, on the generator's backend. */
    private void requireDecoderPacks(String neededFor) {
        for (Class<? extends OpPack> pack : decoder.requiredPacks()) {
            OpPacks.require(stage1.backend(), pack, neededFor);
        }
    }

    private void checkClusters(GenerationRequest r) {
        if (clusterTable == null) {
            // plain top-k sampling keeps 50 tokens per "cluster": more than the vocabulary's worth means nothing
            int vocab = stage1.config().imageVocabSize();
            for (String name : new String[] {"topKClusters", "firstFrameTopKClusters"}) {
                int k = name.equals("topKClusters") ? r.topKClusters() : r.firstFrameTopKClusters();
                if (k > vocab) {
                    throw new CogVideoException(name + " must be in [1, " + vocab + "] for this model (no cluster "
                            + "table: each keeps 50 of its " + vocab + " image tokens), got " + k);
                }
            }
            return;
        }
        int clusters = new ClusterSampler(clusterTable, 1, 1, 1).clusterCount();
        if (r.topKClusters() > clusters) {
            throw new CogVideoException("topKClusters must be in [1, " + clusters + "], got " + r.topKClusters());
        }
        if (r.firstFrameTopKClusters() > clusters) {
            throw new CogVideoException("firstFrameTopKClusters must be in [1, " + clusters + "], got "
                    + r.firstFrameTopKClusters());
        }
    }

    private void checkGivenFrames(String what, List<int[]> given) {
        int fl = frameLength();
        for (int i = 0; i < given.size(); i++) {
            int[] f = given.get(i);
            if (f.length != fl) {
                throw new CogVideoException(what + i + " has " + f.length + " tokens; frames have " + fl
                        + " (" + stage1.config().frameGrid() + "x" + stage1.config().frameGrid() + ")");
            }
            checkImageTokens(what + i, f);
        }
    }

    private void checkImageTokens(String what, int[] frame) {
        int vocab = stage1.config().imageVocabSize();
        for (int t : frame) {
            if (t < 0 || t >= vocab) {
                throw new CogVideoException(what + " holds token " + t + ", outside the image vocabulary [0, "
                        + vocab + ")");
            }
        }
    }

    /** The prompt's token budget and the tokenizer's ids against the model's vocabulary. */
    private void checkText(TextPlan p) {
        List<int[]> prefixes = new ArrayList<>(List.of(p.firstFrame(), p.keyFrames(), p.guider()));
        prefixes.addAll(p.stage2());
        int longest = 0;
        for (int[] t : prefixes) {
            longest = Math.max(longest, t.length);
        }
        if (longest > MAX_TEXT_TOKENS) {
            throw new CogVideoException("prompt is too long: it makes a text prefix of " + longest
                    + " tokens (duration + <n> + " + p.prompt().length + " prompt tokens + suffix); at most "
                    + MAX_TEXT_TOKENS + " are allowed");
        }
        int vocab = stage1.config().vocabSize();
        for (int[] t : prefixes) {
            for (int id : t) {
                if (id < 0 || id >= vocab) {
                    throw new CogVideoException("the tokenizer produced id " + id + ", outside the model's vocabulary [0, "
                            + vocab + "): tokenizer and checkpoint do not match");
                }
            }
        }
    }

    /**
     * Runs a planned request to the end: first frame, key frames, the interpolation rounds, super-resolution and
     * decoding, each a stage object. A request with an input video skips the first frame and the key frames and
     * runs only the rounds above the input's frame rate. Throws {@link GenerationCancelledException} when cancelled, carrying the last
     * finished result.
     *
     * @param plan made by {@link #plan} of this pipeline
     * @param seed the request's seed (every sequence derives its own generator from it)
     */
    public Video generate(RequestPlan plan, long seed) {
        if (plan.pipeline() != this) {
            throw new CogVideoException("this request plan was made by another pipeline; call plan(request) on this one");
        }
        GenerationRequest r = plan.request();
        int vocab = stage1.config().imageVocabSize();
        RequestRun run = new RequestRun(plan, seed,
                sampler(r.firstFrameTemperature(), r.firstFrameTopKClusters(), r.temperature2(), vocab),
                sampler(r.temperature(), r.topKClusters(), r.temperature2(), vocab));
        int[][][] frames;
        if (plan.interpolatesInput()) {
            // interpolation of a given video: no first frame, no key frames; only the rounds above its rate
            frames = plan.initialInputVideo();
            run.partial(frames, plan.startFrameRate());
            LOG.info("Interpolating {} sample(s) of {} given frames ({} fps) to {} fps", r.samples(),
                    frames[0].length, plan.startFrameRate(), r.frameRate());
        } else {
            frames = plan.initialKeyFrames(KEY_FRAMES, frameLength());
            if (plan.givenCount() == 0) {
                firstFrame.run(run, frames);
            }
            if (plan.firstGeneratedKeyFrame() < KEY_FRAMES) {
                keyFrames.run(run, frames);
            }
            Video done = run.partial(frames, 1);
            LOG.info("Stage 1 done: {} sample(s) x {} key frames in {} ms", r.samples(), KEY_FRAMES,
                    done.totalTime().toMillis());
        }
        for (int round = plan.firstRound(); round <= plan.rounds(); round++) {
            frames = new InterpolationRound(stage2, stage2Window, encoder.startOfImage(), round).run(run, frames);
            run.partial(frames, 1 << round);
            LOG.info("Interpolation round {} done: {} frames per sample", round, frames[0].length);
        }
        if (plan.superResolution()) {
            frames = superResolution.run(run, frames);
            LOG.info("Super-resolution done: {} frames of {} tokens", r.samples() * frames[0].length,
                    frames[0][0].length);
        }
        List<List<BufferedImage>> pixels = plan.decode() ? decoding.run(run, frames, r.frameRate()) : null;
        return run.video(frames, r.frameRate(), pixels);
    }

    /**
     * Decodes a video's frames to pixels with this pipeline's image decoder: a video made without pixels (for
     * example the partial result of a cancelled request). A video that has pixels is returned as it is.
     *
     * @return the same video with pixels, and the decoding time added to its timings
     * @throws CogVideoException if no image decoder is configured or a frame is not one this pipeline makes
     */
    public Video decode(Video video) {
        Objects.requireNonNull(video, "video");
        if (video.hasPixels()) {
            return video;
        }
        if (decoder == null) {
            throw new CogVideoException("this generator has no image decoder, so it cannot decode frames to pixels: "
                    + "build it with VideoGenerator.Builder#imageTokenizer (icetk's ice_image.pt)");
        }
        requireDecoderPacks("decoding frames to pixels");
        int[][][] tokens = video.tokens();
        checkDecodable(tokens);
        long t0 = System.nanoTime();
        List<List<BufferedImage>> pixels = decoding.decode(tokens, done -> { });
        Map<GenerationStage, Duration> timings = new EnumMap<>(GenerationStage.class);
        timings.putAll(video.timings());
        timings.put(GenerationStage.DECODING, Duration.ofNanos(System.nanoTime() - t0));
        return new Video(tokens, video.fps(), video.seed(), timings, video.promptTokens(), pixels);
    }

    /** Frames of {@link #frameLength} tokens, or of the super-resolution size; ids in the image vocabulary. */
    private void checkDecodable(int[][][] tokens) {
        int fl = frameLength();
        int hi = superResolution == null ? fl : superResolution.config().highResTokens();
        for (int s = 0; s < tokens.length; s++) {
            for (int f = 0; f < tokens[s].length; f++) {
                int n = tokens[s][f].length;
                if (n != fl && n != hi) {
                    throw new CogVideoException("frame " + f + " of sample " + s + " has " + n + " tokens; this "
                            + "generator decodes frames of " + fl + (hi != fl ? " or " + hi : "") + " tokens");
                }
                checkImageTokens("frame " + f + " of sample " + s, tokens[s][f]);
            }
        }
    }

    private TokenSampler sampler(double temperature, int topK, double temperature2, int vocab) {
        if (clusterTable != null) {
            return new ClusterSampler(clusterTable, temperature, topK, temperature2);
        }
        // 50 clusters' worth of tokens per kept cluster, in long arithmetic: a huge topK keeps the whole vocabulary
        return new TopKTopPSampler(temperature * temperature2, (int) Math.min(vocab, 50L * topK), 0);
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
}
