package io.cogvideo.examples;

import io.cogvideo.Cancellation;
import io.cogvideo.CogVideoException;
import io.cogvideo.GenerationRequest;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import io.cogvideo.video.VideoReader;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Interpolation of a given low-frame-rate video with CogVideo's stage 2: the input's frames are encoded and kept, and
 * only the interpolation rounds above its frame rate run (5 -> 9 -> 17 -> 33 frames over 4 s). Everything that needs
 * no model is checked before loading one; the output is written to a temporary file and renamed into place, so a
 * failure leaves no partial output.
 */
@Command(name = "interpolate", mixinStandardHelpOptions = true,
        description = {"Interpolate a low-frame-rate video to a higher frame rate with CogVideo's stage 2.",
            "INPUT is a GIF or a folder of PNG frames (file-name order) of 5, 9 or 17 frames, read as a 4-second "
                + "clip at 1, 2 or 4 fps; frames are resized and center-cropped to the model's frame size and "
                + "encoded with the image tokenizer (with --checkpoint, give --image-tokenizer with its encoder). The "
                + "input frames are kept; only the rounds above the input's rate run.",
            "Without --checkpoint the embedded demo model is used (the world of coloured shapes: "
                + "`cogvideo generate --help` lists its prompts)."})
final class InterpolateCommand implements Callable<Integer> {
    /** Output extensions this command writes atomically (a file each). */
    static final List<String> OUTPUT_EXTENSIONS = List.of(".gif", ".mp4", ".npy");

    @Mixin
    CogVideoCli.Common common;

    @Parameters(index = "0", paramLabel = "INPUT", description = "The video to interpolate: a GIF, or a folder of "
            + "PNG frames.")
    Path input;

    @Parameters(index = "1", paramLabel = "PROMPT", description = "The prompt describing the video.")
    String prompt;

    @Option(names = {"-o", "--output"}, defaultValue = "output/interpolated.gif", paramLabel = "FILE",
            description = "Output file: .gif, .mp4, or .npy for the frame tokens; written to a temporary file and "
                    + "renamed, so nothing is left on failure. Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = {"-r", "--frame-rate"}, defaultValue = "8", paramLabel = "FPS",
            description = "Target frames per second over 4 s: 2, 4 or 8 (9, 17, 33 frames), above the input's. "
                    + "Default: ${DEFAULT-VALUE}.")
    int frameRate;

    @Option(names = {"-s", "--seed"}, paramLabel = "N", description = "Random seed (default: drawn and printed).")
    Long seed;

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

    @Option(names = "--image-tokenizer", paramLabel = "FILE", description = "icetk's ice_image.pt (VQ-VAE with "
            + "its encoder); required with --checkpoint.")
    Path imageTokenizer;

    @Option(names = "--backend", paramLabel = "NAME", description = "cpu or cuda (default: best available).")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all cores).")
    int threads;

    @Option(names = "--top-k", defaultValue = "12", description = "Clusters kept by the sampler. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--temperature", defaultValue = "1.05", description = "Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--max-batch", defaultValue = "8", description = "Sequences per model call. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        // 1. everything that needs no model, before loading one
        CliChecks.threads(threads);
        GenerateCommand.checkModelOptions(checkpoint, stage2Checkpoint, srCheckpoint, textTokenizer,
                noSuperResolution);
        checkOutput();
        VideoReader.VideoInfo info = VideoReader.probe(input); // exists, readable, GIF or PNG folder, sizes, budget
        if (!GenerationRequest.INPUT_VIDEO_FRAMES.contains(info.frames())) {
            throw new CogVideoException("input " + input + " has " + info.frames() + " frames; interpolation takes "
                    + "5, 9 or 17 (1, 2 or 4 fps over 4 s)");
        }
        Cancellation cancel = new Cancellation();
        GenerationRequest.Builder rb;
        try {
            rb = GenerationRequest.builder().prompt(prompt).frameRate(frameRate).samples(1)
                    .topKClusters(topK).temperature(temperature).maxBatchSize(maxBatch).cancellation(cancel)
                    .superResolution(!noSuperResolution)
                    .listener(new ConsoleProgress(System.err, System.console() != null))
                    .decodePixels(!Outputs.isTokens(output)); // a .npy output needs no decoding
            if (seed != null) {
                rb.seed(seed);
            }
            // the frame count against the target rate, with placeholders (the real frames are encoded later)
            rb.inputVideo(Collections.nCopies(info.frames(), new int[0])).build();
        } catch (CogVideoException e) {
            throw CliChecks.quoteOption(spec, e);
        }
        GenerateCommand.requireEncoderOption(checkpoint, imageTokenizer, "interpolate");
        List<BufferedImage> pictures = VideoReader.readFrames(input); // decodes: corrupt frames fail here
        VideoGenerator.Builder gb = GenerateCommand.generatorBuilder(checkpoint, stage2Checkpoint, srCheckpoint,
                textTokenizer, imageTokenizer, backend, threads);

        // 2. the model: encode, interpolate, write atomically
        try (VideoGenerator gen = gb.build()) {
            System.err.println("Backend: " + gen.backendDescription());
            gen.requireImageEncoder();
            List<int[]> frames = gen.encodeFrames(pictures);
            System.err.printf(Locale.ROOT, "input: %s, %d frames of %dx%d (%d fps) encoded at %dx%d%n", input,
                    info.frames(), info.width(), info.height(), (info.frames() - 1) / 4, gen.frameSize(),
                    gen.frameSize());
            Video video;
            try {
                video = gen.generate(rb.inputVideo(frames).build());
            } catch (io.cogvideo.GenerationCancelledException e) {
                throw e;
            } catch (CogVideoException e) {
                throw CliChecks.quoteOption(spec, e);
            }
            Outputs.write(video, output); // a temporary file renamed into place: nothing is left on failure
            System.err.println("wrote " + output);
            System.err.println(GenerateCommand.summary(video));
            return 0;
        }
    }

    /** The output's extension is one this command writes, its folder writable, and it is not the input. */
    private void checkOutput() {
        String name = output.getFileName() == null ? "" : output.getFileName().toString().toLowerCase(Locale.ROOT);
        if (OUTPUT_EXTENSIONS.stream().noneMatch(name::endsWith)) {
            throw new CogVideoException("output " + output + " must end in one of " + OUTPUT_EXTENSIONS
                    + " (interpolate writes one file, atomically)");
        }
        if (Files.isDirectory(output)) {
            throw new CogVideoException("output " + output + " is a folder; give a file name ending in one of "
                    + OUTPUT_EXTENSIONS);
        }
        Outputs.check(output);
        if (input != null && Files.exists(input) && Files.exists(output)) {
            try {
                if (Files.isSameFile(input, output)) {
                    throw new CogVideoException("output " + output + " is the input file; choose another name");
                }
            } catch (IOException e) {
                throw new CogVideoException("cannot compare input " + input + " and output " + output + ": "
                        + e.getMessage(), e);
            }
        }
    }
}
