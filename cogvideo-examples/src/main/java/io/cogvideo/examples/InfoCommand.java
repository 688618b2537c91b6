package io.cogvideo.examples;

import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.OpPack;
import io.cogvideo.spi.OpPacks;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Backends and model facts. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "List the backends found (and why any is unavailable) with the op packs each provides, and "
                + "describe a checkpoint: config, parameter count, memory estimate.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Option(names = {"-c", "--checkpoint"}, paramLabel = "DIR",
            description = "A CogVideo checkpoint folder to describe (reads only its config).")
    Path checkpoint;

    @Override
    public Integer call() {
        List<Backends.Candidate> all = Backends.discover();
        System.out.println(Backends.describe(all));
        System.out.println(opPacks(all));
        System.out.println("Java " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors()
                + " cores, max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
        if (checkpoint == null) {
            System.out.println(demoModel());
        }
        if (checkpoint != null) {
            try (SatCheckpoint ckpt = SatCheckpoint.open(checkpoint)) {
                CogVideoConfig c = CogVideoConfig.fromSatConfig(ckpt.config());
                System.out.println(describe(c));
                System.out.println("weights file: " + ckpt.weightsFile());
            }
        }
        return 0;
    }

    /** What the embedded demo model is and how it was trained (its training summary). */
    static String demoModel() {
        DemoAssets demo = DemoAssets.install();
        StringBuilder sb = new StringBuilder("Embedded demo model: ").append(demo.describe()).append('\n');
        sb.append("  trained by `cogvideo train-demo`: a text model written by the project, a VQ-VAE of icetk's "
                + "architecture trained on the world's frames, then CogVideo's recipe: an image model, stage 1 "
                + "(base frozen, attention-plus trained) and stage 2 (interpolation); prompts: "
                + "`cogvideo generate --help`.\n");
        try (SatCheckpoint ckpt = SatCheckpoint.open(demo.files().stage1())) {
            sb.append("  ").append(describe(CogVideoConfig.fromSatConfig(ckpt.config())).replace("\n", "\n  "))
                    .append('\n');
        }
        try {
            sb.append("  training summary:\n    ").append(java.nio.file.Files.readString(
                    demo.files().dir().resolve("training-summary.txt")).strip().replace("\n", "\n    "));
        } catch (java.io.IOException e) {
            sb.append("  (no training summary: ").append(e.getMessage()).append(')');
        }
        return sb.toString();
    }

    /** The op packs of every available backend (what a generator on it can do), one line per backend. */
    static String opPacks(List<Backends.Candidate> all) {
        StringBuilder sb = new StringBuilder("Op packs:");
        for (Backends.Candidate c : all) {
            if (!c.availability().available()) {
                continue;
            }
            sb.append("\n  ").append(c.name()).append(":");
            try (Backend b = c.provider().create(BackendOptions.defaults())) {
                for (Class<? extends OpPack> pack : OpPacks.known()) {
                    sb.append(' ').append(pack.getSimpleName()).append(OpPacks.has(b, pack) ? " yes," : " no,");
                }
                sb.setLength(sb.length() - 1);
            } catch (RuntimeException | LinkageError e) {
                sb.append(" cannot tell, the backend failed to start: ").append(e.getMessage());
            }
        }
        return sb.toString();
    }

    static String describe(CogVideoConfig c) {
        long params = c.parameterCount();
        long cachePerSeq = 4L * 2 * c.hiddenSize() * c.numLayers()
                * (2L * (74 + c.frameCount() * c.frameLength()));
        return String.format("model: %d layers, hidden %d, %d heads, vocabulary %d (%d image tokens), "
                + "frames %d x %d tokens%n"
                + "parameters: %,d (%.2f GB in fp16, %.2f GB in fp32)%n"
                + "KV caches: %.2f GB per sequence in fp32 (a guided stage-1 sample holds two)",
                c.numLayers(), c.hiddenSize(), c.numHeads(), c.vocabSize(), c.imageVocabSize(), c.frameCount(),
                c.frameLength(), params, params * 2 / 1e9, params * 4 / 1e9, cachePerSeq / 1e9);
    }
}
