package io.cogvideo.examples;

import io.cogvideo.Cancellation;
import io.cogvideo.CogVideoException;
import io.cogvideo.GenerationCancelledException;
import io.cogvideo.GenerationRequest;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import io.cogvideo.video.VideoReader;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Text to video, and image to video with {@code --first-frame}. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a video from a prompt (simplified Chinese, as the released CogVideo was trained).",
            "Without --checkpoint the embedded demo model is used: CogVideo's recipe trained on a small world of "
                + "coloured shapes moving on white (96 x 96 frames); it understands the prompts listed below.",
            "With --first-frame FILE the video starts from that picture (image to video): it is resized and "
                + "center-cropped to the model's frame size, encoded with the image tokenizer and kept as frame 0 "
                + "(with --checkpoint, give --image-tokenizer with its encoder)."},
        footerHeading = "%nPrompts the demo model understands:%n",
        footer = {GenerateCommand.DEMO_PROMPTS_HELP})
final class GenerateCommand implements Callable<Integer> {
    /** The help's list of the prompts the demo model was trained on (docs/demo-model.md). */
    static final String DEMO_PROMPTS_HELP = "  {颜色}{形状}{方向}, optionally starting with 一个, e.g. 红色圆形向右移动:%n"
            + "    颜色 (colour): 红色 red, 绿色 green, 蓝色 blue, 黄色 yellow%n"
            + "    形状 (shape): 圆形 circle, 正方形 square, 三角形 triangle%n"
            + "    方向 (motion): 向左移动 left, 向右移动 right, 向上移动 up, 向下移动 down%n"
            + "  48 prompts in all; other text runs but means nothing to the demo model.";

    @Mixin
    CogVideoCli.Common common;

    @Parameters(index = "0", paramLabel = "PROMPT", description = "The prompt.")
    String prompt;

    @Option(names = {"-o", "--output"}, defaultValue = "output/video.gif", paramLabel = "FILE",
            description = "Output file; the extension chooses the format: .gif, .mp4, a folder or .png for numbered PNG "
                    + "frames plus a contact sheet, .npy for the raw frame tokens. Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--also", paramLabel = "FILE", description = "Further outputs of the same video (repeatable), "
            + "e.g. --also output/video.mp4.")
    List<Path> also = new ArrayList<>();

    @Option(names = {"-r", "--frame-rate"}, defaultValue = "8", paramLabel = "FPS",
            description = "1, 2, 4 or 8 frames per second over 4 s (5, 9, 17, 33 frames). Default: ${DEFAULT-VALUE}.")
    int frameRate;

    @Option(names = {"-s", "--seed"}, paramLabel = "N", description = "Random seed (default: drawn and printed).")
    Long seed;

    @Option(names = {"-n", "--samples"}, defaultValue = "1", description = "Videos to make, 1 to 1024 (and as many "
            + "as fit in half the JVM's heap). Default: ${DEFAULT-VALUE}.")
    int samples;

    @Option(names = {"-c", "--checkpoint"}, paramLabel = "DIR",
            description = "Stage-1 CogVideo checkpoint folder (default: the embedded demo model).")
    Path checkpoint;

    @Option(names = "--stage2-checkpoint", paramLabel = "DIR", description = "Stage-2 checkpoint folder "
            + "(default: the stage-1 folder).")
    Path stage2Checkpoint;

    @Option(names = "--sr-checkpoint", paramLabel = "DIR", description = "CogView2's direct super-resolution "
            + "checkpoint folder (cogview2-dsr): frames are lifted to 480x480.")
    Path srCheckpoint;

    @Option(names = "--no-super-resolution", description = "Keep 160x160 frames even with --sr-checkpoint.")
    boolean noSuperResolution;

    @Option(names = "--text-tokenizer", paramLabel = "FILE", description = "icetk's ice_text.model.")
    Path textTokenizer;

    @Option(names = "--image-tokenizer", paramLabel = "FILE", description = "icetk's ice_image.pt (VQ-VAE); "
            + "with the demo model it replaces the embedded decode-only one.")
    Path imageTokenizer;

    @Option(names = "--first-frame", paramLabel = "IMAGE", description = "Start the video from this picture "
            + "(PNG, JPEG, or a GIF's first frame; at most 4096x4096): resized and center-cropped to the frame "
            + "size, encoded as key frame 0. Needs an image tokenizer with its encoder (--image-tokenizer; the "
            + "embedded demo's holds a decoder only).")
    Path firstFrame;

    @Option(names = "--backend", paramLabel = "NAME", description = "cpu or cuda (default: best available).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all cores; at most 4 per core, "
            + "at least 16).")
    int threads;

    @Option(names = "--no-guidance", description = "Turn classifier-free guidance off for the key frames.")
    boolean noGuidance;

    @Option(names = "--guidance-alpha", defaultValue = "3.0", description = "Guidance strength. Default: ${DEFAULT-VALUE}.")
    double guidanceAlpha;

    @Option(names = "--top-k", defaultValue = "12", description = "Clusters kept by the sampler. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--temperature", defaultValue = "1.05", description = "Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--max-batch", defaultValue = "8", description = "Sequences per model call. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Option(names = "--overwrite", description = "Write PNG frames into a folder that already holds files; only the "
            + "files this run makes (0000.png, ..., contact_sheet.png) are replaced, all others are kept. Without it "
            + "such a folder is refused before any work.")
    boolean overwrite;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        // Validate everything that needs no model before loading anything.
        CliChecks.threads(threads);
        checkOptionCombinations();
        List<Path> outputs = new ArrayList<>();
        outputs.add(output);
        outputs.addAll(also);
        Cancellation cancel = new Cancellation();
        GenerationRequest request;
        try {
            GenerationRequest.Builder rb = GenerationRequest.builder().prompt(prompt).frameRate(frameRate)
                    .samples(samples).guidance(!noGuidance).guidanceAlpha(guidanceAlpha).topKClusters(topK)
                    .temperature(temperature).maxBatchSize(maxBatch).cancellation(cancel)
                    .superResolution(!noSuperResolution)
                    .listener(new ConsoleProgress(System.err, System.console() != null))
                    .decodePixels(!outputs.stream().allMatch(Outputs::isTokens)); // tokens only: no decoding time
            if (seed != null) {
                rb.seed(seed);
            }
            request = rb.build();
        } catch (CogVideoException e) {
            throw CliChecks.quoteOption(spec, e);
        }
        Outputs.check(outputs, samples, request.frameCount(), overwrite);
        if (overwrite && outputs.stream().noneMatch(Outputs::isPngFrames)) {
            throw new CogVideoException("--overwrite applies to PNG frame folders only, and no output is one ("
                    + outputs + "); files (.gif, .mp4, .npy) are always replaced through a temporary file");
        }
        BufferedImage picture = null;
        if (firstFrame != null) {
            requireEncoderOption(checkpoint, imageTokenizer, "--first-frame");
            picture = VideoReader.readImage(firstFrame); // readable, a picture, within the pixel budget
        }

        VideoGenerator.Builder gb = generatorBuilder(checkpoint, stage2Checkpoint, srCheckpoint, textTokenizer,
                imageTokenizer, backend, threads);
        checkPixelsAvailable(outputs); // still before loading anything
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            cancel.cancel();
            try {
                finished.await(30, TimeUnit.SECONDS); // let the main thread save what is finished
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "cogvideo-ctrl-c");
        Runtime.getRuntime().addShutdownHook(hook);
        try (VideoGenerator gen = gb.build()) {
            System.err.println("Backend: " + gen.backendDescription());
            if (picture != null) {
                gen.requireImageEncoder(); // before any generation work
                int[] frame0 = gen.encodeFrame(picture);
                System.err.println("first frame: " + firstFrame + " (" + picture.getWidth() + "x"
                        + picture.getHeight() + ") encoded to " + frame0.length + " tokens at " + gen.frameSize() + "x"
                        + gen.frameSize());
                request = request.toBuilder().givenFrames(List.of(frame0)).build();
            }
            Video video;
            try {
                video = gen.generate(request);
            } catch (GenerationCancelledException e) {
                keepPartial(gen, e.partial());
                throw e;
            } catch (CogVideoException e) {
                throw CliChecks.quoteOption(spec, e); // limits that depend on the model (top-k, samples in memory)
            }
            for (Path p : outputs) {
                Outputs.write(video, p, overwrite);
                System.err.println("wrote " + p);
            }
            System.err.println(summary(video));
            return 0;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting after Ctrl-C
            }
        }
    }

    /**
     * Saves the finished stages of a cancelled run next to the output: decoded to pixels while the generator is still
     * open, or as tokens ({@code .npy}) when it has no image decoder.
     */
    private void keepPartial(VideoGenerator gen, Video partial) {
        if (partial == null) {
            return;
        }
        Video keep = partial;
        if (gen.hasImageDecoder()) {
            try {
                keep = gen.decode(partial);
            } catch (RuntimeException e) {
                System.err.println("Could not decode the finished frames (" + e.getMessage() + "); keeping their tokens");
            }
        }
        Path wanted = keep.hasPixels() || Outputs.isTokens(output) ? output : Outputs.withExtension(output, ".npy");
        Path target = Outputs.fresh(wanted, "-partial", keep.samples()); // never replaces an existing file
        Outputs.write(keep, target);
        System.err.println("Cancelled; kept the " + keep.frameCount() + " finished frames in " + target);
    }

    /** Options that conflict, or that would do nothing, are errors (before anything is loaded). */
    private void checkOptionCombinations() {
        checkModelOptions(checkpoint, stage2Checkpoint, srCheckpoint, textTokenizer, noSuperResolution);
        if (noGuidance && CliChecks.given(spec, "--guidance-alpha")) {
            throw new CogVideoException("--guidance-alpha " + CliChecks.value(spec, "--guidance-alpha")
                    + " does nothing with --no-guidance; give one or the other");
        }
    }

    /**
     * The model options shared by {@code generate} and {@code interpolate} that conflict or do nothing: checkpoint
     * options of the embedded demo model's own parts, and {@code --no-super-resolution} without a super-resolution
     * model.
     */
    static void checkModelOptions(Path checkpoint, Path stage2Checkpoint, Path srCheckpoint, Path textTokenizer,
            boolean noSuperResolution) {
        if (checkpoint == null) {
            List<String> ignored = new ArrayList<>();
            if (stage2Checkpoint != null) {
                ignored.add("--stage2-checkpoint " + stage2Checkpoint);
            }
            if (srCheckpoint != null) {
                ignored.add("--sr-checkpoint " + srCheckpoint);
            }
            if (textTokenizer != null) {
                ignored.add("--text-tokenizer " + textTokenizer);
            }
            if (!ignored.isEmpty()) {
                throw new CogVideoException(String.join(", ", ignored) + ": only with --checkpoint; the embedded demo "
                        + "model (used without --checkpoint) has its own stage 2 and text tokenizer and no "
                        + "super-resolution model");
            }
        }
        if (noSuperResolution && srCheckpoint == null) {
            throw new CogVideoException("--no-super-resolution does nothing without --sr-checkpoint (frames are only "
                    + "lifted to 480x480 with a super-resolution model)");
        }
    }

    /**
     * The generator builder of the model options shared by {@code generate} and {@code interpolate}: the embedded
     * demo model without a checkpoint (its image tokenizer replaced by {@code imageTokenizer} when given), else the
     * checkpoint folders and tokenizers given, each checked to exist first.
     */
    static VideoGenerator.Builder generatorBuilder(Path checkpoint, Path stage2Checkpoint, Path srCheckpoint,
            Path textTokenizer, Path imageTokenizer, String backend, int threads) {
        if (imageTokenizer != null && !Files.isRegularFile(imageTokenizer)) {
            throw new CogVideoException("image tokenizer " + imageTokenizer + " does not exist or is not a file");
        }
        VideoGenerator.Builder gb = VideoGenerator.builder().backend(backend).threads(threads);
        if (checkpoint == null) {
            DemoAssets demo = DemoAssets.install();
            System.err.println("Using the embedded demo model (" + demo.describe() + "). Pass --checkpoint for "
                    + "real weights.");
            demo.files().configure(gb);
            if (imageTokenizer != null) {
                gb.imageTokenizer(imageTokenizer);
            }
            return gb;
        }
        if (!Files.isDirectory(checkpoint)) {
            throw new CogVideoException("checkpoint folder " + checkpoint + " does not exist");
        }
        gb.modelDir(checkpoint);
        if (stage2Checkpoint != null) {
            gb.stage2ModelDir(stage2Checkpoint);
        }
        if (textTokenizer == null) {
            throw new CogVideoException("--text-tokenizer (icetk's ice_text.model) is required with --checkpoint");
        }
        gb.textTokenizer(textTokenizer);
        if (imageTokenizer != null) {
            gb.imageTokenizer(imageTokenizer);
        }
        if (srCheckpoint != null) {
            if (!Files.isDirectory(srCheckpoint)) {
                throw new CogVideoException("super-resolution checkpoint folder " + srCheckpoint + " does not exist");
            }
            gb.superResolutionModelDir(srCheckpoint);
        }
        return gb;
    }

    /**
     * Encoding pictures needs an image tokenizer with its encoder: the embedded demo's has one, a checkpoint of
     * your own needs --image-tokenizer. Fails before anything is loaded.
     */
    static void requireEncoderOption(Path checkpoint, Path imageTokenizer, String option) {
        if (imageTokenizer != null || checkpoint == null) {
            return; // the embedded demo's VQ-VAE has its encoder
        }
        throw new CogVideoException(option + " needs an image tokenizer with its encoder: pass --image-tokenizer "
                + "(icetk's ice_image.pt)");
    }

    /** Picture outputs need an image decoder; with a checkpoint of your own that means --image-tokenizer. */
    private void checkPixelsAvailable(List<Path> outputs) {
        if (checkpoint == null || imageTokenizer != null) {
            return;
        }
        for (Path p : outputs) {
            if (!Outputs.isTokens(p)) {
                throw new CogVideoException("output " + p + " needs pixels, but no image decoder is configured: pass "
                        + "--image-tokenizer (icetk's ice_image.pt), or write the frame tokens to a .npy file");
            }
        }
    }

    static String summary(Video v) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%d sample(s) x %d frames at %d fps (%.1f s), "
                + "seed %d; timings:", v.samples(), v.frameCount(), v.fps(), v.durationSeconds(), v.seed()));
        for (Map.Entry<io.cogvideo.GenerationStage, Duration> e : v.timings().entrySet()) {
            sb.append(String.format(Locale.ROOT, " %s %.1f s,", ConsoleProgress.label(e.getKey()),
                    e.getValue().toMillis() / 1000.0));
        }
        sb.append(String.format(Locale.ROOT, " total %.1f s", v.totalTime().toMillis() / 1000.0));
        return sb.toString();
    }
}
