package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.VideoGenerator;
import io.cogvideo.examples.demo.DemoEvaluation;
import io.cogvideo.examples.demo.world.Caption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Scores the demo model against its world (issue #14): every prompt, fresh seeds, frame rate 8 and 1. */
@Command(name = "evaluate-demo", mixinStandardHelpOptions = true,
        description = {"Generate videos of the demo world's prompts and check each against its prompt: the shape's "
                + "colour, its shape (fill ratio of its bounding box), the direction, travel and smoothness of its "
                + "track, and (with the same seed) whether the 1 fps and 8 fps videos travel the same distance.",
            "Writes OUT/report.md, report.csv, frame-rate.csv, summary.txt and contact-sheet.png.",
            "Exit code 0 when the acceptance thresholds are met (colour and direction >= 90%, shape and "
                + "smoothness >= 80%), 3 when not."})
final class EvaluateDemoCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", required = true, description = "Folder for the report.")
    Path out;

    @Option(names = "--model", paramLabel = "DIR", description = "A packaged demo model folder (train-demo's "
            + "WORK/package); default: the embedded demo model.")
    Path model;

    @Option(names = "--seeds", split = ",", defaultValue = "20261203,20261204",
            description = "Seeds; every prompt runs once per seed. Default: ${DEFAULT-VALUE}.")
    List<Long> seeds;

    @Option(names = "--prompts", defaultValue = "48", paramLabel = "N",
            description = "The first N of the 48 prompts, or every 48/N-th when N divides 48 (4: one per direction "
                    + "and shape mix). Default: ${DEFAULT-VALUE}.")
    int prompts;

    @Option(names = "--no-rate-check", description = "Skip the 1 fps videos of the frame-rate check.")
    boolean noRateCheck;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature of the key frames and "
            + "interpolation (default: the request default, the original's 1.05).")
    Double temperature;

    @Option(names = "--first-frame-temperature", paramLabel = "T", description = "Sampling temperature of the "
            + "first frame (default: the request default).")
    Double firstFrameTemperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Clusters kept by the sampler (default: the "
            + "request default, 12).")
    Integer topK;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "CPU threads (0: all cores). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() {
        CliChecks.threads(threads); // before any work: a huge count would exhaust native threads
        List<Caption> all = Caption.all();
        if (prompts < 1 || prompts > all.size()) {
            throw new CogVideoException("evaluate-demo: --prompts " + prompts + " is invalid; allowed: 1.."
                    + all.size());
        }
        if (seeds.isEmpty()) {
            throw new CogVideoException("evaluate-demo: --seeds is empty");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new CogVideoException("evaluate-demo: --out " + out + " exists and is not a folder");
        }
        List<Caption> captions = pick(all, prompts);
        DemoAssets.Files files = model != null ? DemoAssets.Files.of(model) : DemoAssets.install().files();
        try (VideoGenerator gen = files.configure(VideoGenerator.builder()).threads(threads).build()) {
            DemoEvaluation.Result r = DemoEvaluation.run(gen, captions, seeds, !noRateCheck, b -> {
                if (temperature != null) {
                    b.temperature(temperature);
                }
                if (firstFrameTemperature != null) {
                    b.firstFrameTemperature(firstFrameTemperature);
                }
                if (topK != null) {
                    b.topKClusters(topK);
                }
                return b;
            }, System.err::println);
            r.write(out);
            System.out.println(r.summary());
            System.out.println("report: " + out.resolve("report.md"));
            return r.report().accepted() && r.rateAgreement() >= 0.9 ? 0 : 3;
        }
    }

    /** Every {@code 48 / n}-th caption when {@code n} divides 48 (spread over colours, shapes and directions). */
    static List<Caption> pick(List<Caption> all, int n) {
        if (all.size() % n != 0) {
            return all.subList(0, n);
        }
        int stride = all.size() / n;
        List<Caption> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // captions are colour-major, then shape, then direction: the offset 5i walks shape and direction together
            // so that a pick of 4 has four colours, three shapes and four directions
            out.add(all.get(i * stride + (i * 5) % stride));
        }
        return out;
    }
}
