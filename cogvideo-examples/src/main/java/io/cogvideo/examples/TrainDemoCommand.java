package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.examples.demo.DemoBuild;
import io.cogvideo.examples.demo.DemoBuild.Phase;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.DType;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Rebuilds the embedded demo model from nothing (issue #14): world, tokenizers, VQ-VAE, the three-phase recipe. */
@Command(name = "train-demo", mixinStandardHelpOptions = true,
        description = {"Rebuild the demo model from nothing: the text model, a VQ-VAE trained on the world's frames "
                + "and its cluster table, the tokenized training videos, then CogVideo's recipe: the image model, "
                + "stage 1 (base frozen, attention-plus trained) and stage 2 (interpolation).",
            "Phases run in order and resume: a finished phase is skipped, an interrupted one continues from its "
                + "newest checkpoint. Run again with the same --work to continue.",
            "Phases: " + "text, vq, data, image, stage1, stage2, package."})
final class TrainDemoCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Option(names = "--work", paramLabel = "DIR", required = true,
            description = "Work folder: one sub-folder per phase; the packaged model ends in DIR/package.")
    Path work;

    @Option(names = "--phase", paramLabel = "NAME", split = ",",
            description = "Only these phases (comma-separated); the earlier ones must be done. Default: all.")
    List<String> phases;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "Backend threads (0: all processors). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() {
        CliChecks.threads(threads); // before any work: a huge count would exhaust native threads
        List<Phase> selected = parsePhases(phases);
        if (Files.exists(work) && !Files.isDirectory(work)) {
            throw new CogVideoException("train-demo: --work " + work + " exists and is not a folder");
        }
        PrintStream err = System.err;
        boolean terminal = System.console() != null;
        long t0 = System.nanoTime();
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        new DemoBuild(work, t -> Backends.create("cpu", new BackendOptions(t, DType.FLOAT32)), n,
                DemoBuild.Settings.demo(), new Bars(err, terminal)).run(selected);
        err.printf(Locale.ROOT, "train-demo: done in %s; the packaged model is in %s%n",
                ConsoleProgress.clock((System.nanoTime() - t0) / 1e9), work.resolve("package"));
        return 0;
    }

    static List<Phase> parsePhases(List<String> names) {
        if (names == null || names.isEmpty()) {
            return List.of(Phase.values());
        }
        List<Phase> out = new ArrayList<>();
        for (String n : names) {
            Phase p = Arrays.stream(Phase.values()).filter(x -> x.folder().equals(n.trim().toLowerCase(Locale.ROOT)))
                    .findFirst().orElseThrow(() -> new CogVideoException("train-demo: unknown phase '" + n
                            + "'; allowed: " + Arrays.stream(Phase.values()).map(Phase::folder).toList()));
            out.add(p);
        }
        return out;
    }

    /**
     * One progress bar per running phase (two while stage 1 and stage 2 train together): redrawn in place on a
     * terminal, a line per phase every 10% otherwise. Thread-safe.
     */
    static final class Bars implements DemoBuild.Listener {
        private final PrintStream out;
        private final boolean terminal;
        private final java.util.Map<Phase, String> running = new java.util.LinkedHashMap<>();
        private final java.util.Map<Phase, Integer> decile = new java.util.EnumMap<>(Phase.class);
        private long lastDraw;

        Bars(PrintStream out, boolean terminal) {
            this.out = out;
            this.terminal = terminal;
        }

        @Override
        public synchronized void phase(Phase phase, boolean skipped) {
            clearLine();
            out.printf(Locale.ROOT, "== %s: %s%s%n", phase.folder(), phase.description(),
                    skipped ? " (done before, skipped)" : "");
        }

        @Override
        public synchronized void progress(Phase phase, long done, long total, String detail) {
            double f = total <= 0 ? 1 : Math.min(1, (double) done / total);
            int filled = (int) Math.round(f * 20);
            String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d  %s", phase.folder(), "#".repeat(filled),
                    " ".repeat(20 - filled), done, total, detail);
            if (terminal) {
                running.put(phase, line);
                long now = System.nanoTime();
                if (now - lastDraw < 200_000_000L && done < total) {
                    return;
                }
                lastDraw = now;
                out.print("\r" + String.join("  |  ", running.values()) + "\u001b[K");
            } else {
                int d = (int) (f * 10);
                if (decile.getOrDefault(phase, -1) != d || done >= total) {
                    decile.put(phase, d);
                    out.println(line);
                }
            }
            out.flush();
        }

        @Override
        public synchronized void phaseDone(Phase phase, Duration elapsed) {
            clearLine();
            running.remove(phase);
            out.printf(Locale.ROOT, "== %s done in %s%n", phase.folder(), ConsoleProgress.clock(elapsed.toMillis()
                    / 1000.0));
        }

        private void clearLine() {
            if (terminal && !running.isEmpty()) {
                out.print("\r\u001b[K");
            }
        }
    }
}
