package io.cogvideo.examples.demo;

import io.cogvideo.CogVideoException;
import io.cogvideo.examples.demo.recipe.DemoRecipe;
import io.cogvideo.examples.demo.recipe.RecipeConfig;
import io.cogvideo.examples.demo.world.WorldDataset;
import io.cogvideo.spi.Backend;
import io.cogvideo.tokenizer.IceTokenizer;
import io.cogvideo.tokenizer.image.ImageTokenizer;
import io.cogvideo.training.TrainingListener;
import io.cogvideo.training.TrainingProgress;
import io.cogvideo.training.TrainingSample;
import io.cogvideo.training.vq.ClusterTable;
import io.cogvideo.training.vq.VqArchitecture;
import io.cogvideo.training.vq.VqTrainerOptions;
import io.cogvideo.training.vq.VqVaeModel;
import io.cogvideo.training.vq.VqVaeTrainer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * Rebuilds the demo model from nothing, phase by phase, in one work folder: the text model, the VQ-VAE and its cluster
 * table, the tokenized training videos, then the transformer recipe (image model, stage 1, stage 2), then the
 * packaged model. Every phase writes into its own sub-folder and marks itself done with a {@code DONE} file written
 * last; a phase that was interrupted resumes from its newest checkpoint, so the whole build can be stopped and
 * restarted at any time. Not thread-safe: one build per work folder.
 */
public final class DemoBuild {
    /** Frame side of the demo world, in pixels (12 x 12 tokens at compress rate 8). */
    public static final int CANVAS = 96;
    /** File names of the packaged model. */
    public static final String TEXT_MODEL = "ice_text_world.model";
    public static final String IMAGE_MODEL = "ice_image_world.safetensors";
    public static final String CLUSTER_TABLE = "cluster_label_world.npy";

    /** The phases, in build order. */
    public enum Phase {
        TEXT("text model"),
        VQ("VQ-VAE and cluster table"),
        DATA("render and tokenize the training videos"),
        IMAGE("image model (the CogView2 role)"),
        STAGE1("stage 1: key frames, base frozen"),
        STAGE2("stage 2: interpolation, base frozen"),
        PACKAGE("package the demo model");

        private final String description;

        Phase(String description) {
            this.description = description;
        }

        /** What the phase does, for progress lines. */
        public String description() {
            return description;
        }

        /** The phase's sub-folder name. */
        public String folder() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Progress of a build: phase starts and ends, and steps inside a phase. */
    public interface Listener {
        /** A phase starts ({@code skipped}: it was already done). */
        void phase(Phase phase, boolean skipped);

        /** {@code done} of {@code total} units of the running phase; {@code detail} is a short status. */
        void progress(Phase phase, long done, long total, String detail);

        /** A phase ended after {@code elapsed}. */
        void phaseDone(Phase phase, Duration elapsed);
    }

    /**
     * Sizes of a build.
     *
     * @param vqOptions         VQ-VAE trainer options
     * @param vqImages          distinct world frames the VQ-VAE draws from
     * @param clusters          clusters of the codebook's cluster table
     * @param videosPerCaption  training videos per caption (33 frames each)
     * @param firstFramesPerCaption extra first frames per caption for the image model
     * @param recipe            transformer recipe settings
     * @param seed              seed of the world's videos and the VQ-VAE's images
     */
    public record Settings(VqTrainerOptions vqOptions, int vqImages, int clusters, int videosPerCaption,
            int firstFramesPerCaption, RecipeConfig recipe, long seed) {
        /** The committed demo's settings. */
        public static Settings demo() {
            WorldTextModel text = WorldTextModel.create();
            int image = RecipeConfig.IMAGE_VOCAB;
            RecipeConfig r = RecipeConfig.defaults(text.textVocabularySize(), image + WorldTextModel.PAD_ID,
                    image + text.pieceCount());
            // steps from the measured seconds per update of each phase on this 2-core machine (docs/demo-model.md)
            r = r.withPhases(r.image().withSteps(900), r.stage1().withSteps(600), r.stage2().withSteps(900));
            return new Settings(VqVaeTrainer.demoOptions(), 100_000, 32, 6, 40, r, 14L);
        }
    }

    private final Path work;
    private final IntFunction<Backend> backends;
    private final int threads;
    private final Settings settings;
    private final Listener listener;
    private Backend backend;

    /**
     * @param work     the work folder (created if missing)
     * @param backends creates a backend with the VQ-VAE and training packs (the CPU backend) and float32 weights
     *                 for a number of threads; the build closes what it creates
     * @param threads  threads of the whole build, at least 1; with 2 or more, stage 1 and stage 2 train at the
     *                 same time, each on half of them (two small models keep two cores busier than one)
     */
    public DemoBuild(Path work, IntFunction<Backend> backends, int threads, Settings settings, Listener listener) {
        if (threads < 1) {
            throw new CogVideoException("demo build: threads = " + threads + " is invalid; allowed: >= 1");
        }
        this.work = work;
        this.backends = backends;
        this.threads = threads;
        this.settings = settings;
        this.listener = listener;
    }

    /** The sub-folder of a phase. */
    public Path dir(Phase phase) {
        return work.resolve(phase.folder());
    }

    /** Whether a phase has completed. */
    public boolean done(Phase phase) {
        return Files.isRegularFile(dir(phase).resolve("DONE"));
    }

    /** Runs {@code phases} in build order, skipping those already done; a phase needs every earlier one done. */
    public void run(List<Phase> phases) {
        try (Backend be = backends.apply(threads)) {
            backend = be;
            runPhases(phases);
        } finally {
            backend = null;
        }
    }

    private void runPhases(List<Phase> phases) {
        boolean together = false;
        for (Phase p : Phase.values()) {
            if (!phases.contains(p)) {
                continue;
            }
            for (Phase before : Phase.values()) {
                if (before.ordinal() < p.ordinal() && !done(before) && !phases.contains(before)) {
                    throw new CogVideoException("phase '" + p.folder() + "' needs phase '" + before.folder()
                            + "' first: it is not done in " + work);
                }
            }
            if (done(p)) {
                if (!(p == Phase.STAGE2 && together)) {
                    listener.phase(p, true);
                }
                continue;
            }
            if (p == Phase.STAGE1 && phases.contains(Phase.STAGE2) && !done(Phase.STAGE2) && threads >= 2) {
                stagesTogether();
                together = true;
                continue;
            }
            listener.phase(p, false);
            long t0 = System.nanoTime();
            try {
                Files.createDirectories(dir(p));
            } catch (IOException e) {
                throw new CogVideoException("cannot create " + dir(p) + ": " + e.getMessage(), e);
            }
            switch (p) {
                case TEXT -> text();
                case VQ -> vq();
                case DATA -> data();
                case IMAGE -> imageModel();
                case STAGE1 -> stage(1, backend);
                case STAGE2 -> stage(2, backend);
                case PACKAGE -> packageModel();
                default -> throw new IllegalStateException(p.toString());
            }
            markDone(p);
            listener.phaseDone(p, Duration.ofNanos(System.nanoTime() - t0));
        }
    }

    /** Stage 1 and stage 2 at the same time, each on its own backend with half of the threads. */
    private void stagesTogether() {
        for (Phase p : List.of(Phase.STAGE1, Phase.STAGE2)) {
            listener.phase(p, false);
            try {
                Files.createDirectories(dir(p));
            } catch (IOException e) {
                throw new CogVideoException("cannot create " + dir(p) + ": " + e.getMessage(), e);
            }
        }
        long t0 = System.nanoTime();
        int half = threads / 2;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<?>> jobs = new ArrayList<>();
            for (int stage : new int[] {1, 2}) {
                int n = stage == 1 ? threads - half : half;
                jobs.add(pool.submit(() -> {
                    try (Backend be = backends.apply(n)) {
                        stage(stage, be);
                    }
                    Phase p = stage == 1 ? Phase.STAGE1 : Phase.STAGE2;
                    markDone(p);
                    listener.phaseDone(p, Duration.ofNanos(System.nanoTime() - t0));
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : jobs) {
                f.get();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new CogVideoException("stage training failed: " + c, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CogVideoException("interrupted while training stage 1 and 2", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private void markDone(Phase p) {
        writeAtomically(dir(p).resolve("DONE"), ("done " + java.time.Instant.now() + "\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    static void writeAtomically(Path target, byte[] bytes) {
        try {
            Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), target.getFileName().toString(),
                    ".part");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CogVideoException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ phases

    private void text() {
        WorldTextModel.create().write(dir(Phase.TEXT).resolve(TEXT_MODEL));
        listener.progress(Phase.TEXT, 1, 1, WorldTextModel.create().pieceCount() + " pieces");
    }

    private void vq() {
        Path d = dir(Phase.VQ);
        Path ckpts = d.resolve("checkpoints");
        VqArchitecture arch = VqArchitecture.demo();
        WorldImages images = new WorldImages(CANVAS, settings.vqImages(), settings.seed());
        VqTrainerOptions o = settings.vqOptions();
        Optional<Path> latest = newest(ckpts, "vq-step-", ".safetensors");
        VqVaeTrainer trainer = latest.isPresent() ? VqVaeTrainer.resume(backend, arch, images, o, latest.get())
                : VqVaeTrainer.start(backend, arch, images, o);
        trainer.train(p -> listener.progress(Phase.VQ, p.step(), o.steps(), String.format(Locale.ROOT,
                "loss %.4f  mse %.4f  codes %d  perplexity %.0f", p.loss(), p.reconstructionMse(), p.codesUsed(),
                p.perplexity())), ckpts);
        VqVaeModel model = trainer.model();
        VqVaeTrainer.Evaluation e = VqVaeTrainer.evaluate(backend, model, new WorldImages(CANVAS, 1 << 20,
                settings.seed() + 1), 64, 99L);
        VqVaeTrainer.writeIcetk(model, d.resolve(IMAGE_MODEL));
        int[] labels = ClusterTable.kMeans(model.codebook(), arch.codebookSize(), arch.embeddingDim(),
                settings.clusters(), 50, settings.seed());
        ClusterTable.writeNpy(d.resolve(CLUSTER_TABLE), labels);
        String summary = String.format(Locale.ROOT, "held-out reconstruction: %d images, mse %.5f, PSNR %.2f dB%n",
                e.images(), e.mse(), e.psnr());
        writeAtomically(d.resolve("summary.txt"), summary.getBytes(StandardCharsets.UTF_8));
        listener.progress(Phase.VQ, o.steps(), o.steps(), summary.trim());
    }

    private void data() {
        WorldDataset dataset = new WorldDataset(settings.videosPerCaption(), settings.seed());
        try (ImageTokenizer tok = ImageTokenizer.load(dir(Phase.VQ).resolve(IMAGE_MODEL), backend)) {
            int n = dataset.size();
            WorldTokens tokens = WorldTokens.encode(dataset, tok, CANVAS, 11,
                    v -> listener.progress(Phase.DATA, v, n, v + " videos"));
            tokens.write(dir(Phase.DATA).resolve("tokens.cvwt"));
            WorldDataset firsts = new WorldDataset(settings.firstFramesPerCaption(), settings.seed() + 1000);
            int m = firsts.size();
            WorldTokens.encodeFirstFrames(firsts, tok, CANVAS, 16,
                    v -> listener.progress(Phase.DATA, v, m, v + " first frames")).write(
                            dir(Phase.DATA).resolve("first-frames.cvwt"));
        }
    }

    private IceTokenizer textTokenizer() {
        return IceTokenizer.load(dir(Phase.TEXT).resolve(TEXT_MODEL), RecipeConfig.IMAGE_VOCAB,
                IceTokenizer.COGVIDEO_SPECIALS);
    }

    private List<TrainingSample> videos() {
        return WorldTokens.read(dir(Phase.DATA).resolve("tokens.cvwt")).samples();
    }

    private TrainingListener trainingListener(Phase phase) {
        return new TrainingListener() {
            @Override
            public void onStep(TrainingProgress p) {
                listener.progress(phase, p.step(), p.totalSteps(), String.format(Locale.ROOT,
                        "loss %.4f%s  %.0f tok/s  ETA %ds", p.loss(), Double.isNaN(p.lastEvalLoss()) ? ""
                                : String.format(Locale.ROOT, "  held-out %.4f", p.lastEvalLoss()),
                        p.tokensPerSecond(), p.eta().toSeconds()));
            }
        };
    }

    private void imageModel() {
        Path d = dir(Phase.IMAGE);
        DemoRecipe recipe = new DemoRecipe(settings.recipe(), textTokenizer(), backend);
        Path init = d.resolve("init");
        if (!Files.isRegularFile(init.resolve("model.safetensors"))) {
            recipe.initImageModel(init);
        }
        List<TrainingSample> images = new ArrayList<>(videos());
        images.addAll(WorldTokens.read(dir(Phase.DATA).resolve("first-frames.cvwt")).samples());
        DemoRecipe.PhaseResult r = recipe.imageModel(images, init, d.resolve("run"), d.resolve("export"),
                trainingListener(Phase.IMAGE));
        summary(d, r);
    }

    private void stage(int stage, Backend be) {
        Phase phase = stage == 1 ? Phase.STAGE1 : Phase.STAGE2;
        Path d = dir(phase);
        DemoRecipe recipe = new DemoRecipe(settings.recipe(), textTokenizer(), be);
        Path image = dir(Phase.IMAGE).resolve("export");
        DemoRecipe.PhaseResult r = stage == 1
                ? recipe.stage1(videos(), image, d.resolve("run"), d.resolve("export"), trainingListener(phase))
                : recipe.stage2(videos(), image, d.resolve("run"), d.resolve("export"), trainingListener(phase));
        summary(d, r);
    }

    private void summary(Path d, DemoRecipe.PhaseResult r) {
        var points = r.curve().points();
        String s = String.format(Locale.ROOT, "steps %d%nfirst loss %.5f%nlast loss %.5f%nheld-out loss %.5f%n"
                + "seconds this run %.1f%n", r.steps(), points.isEmpty() ? Double.NaN : points.get(0).loss(),
                points.isEmpty() ? Double.NaN : points.get(points.size() - 1).loss(), r.heldOutLoss(),
                r.elapsed().toMillis() / 1000.0);
        writeAtomically(d.resolve("summary.txt"), s.getBytes(StandardCharsets.UTF_8));
    }

    /** The packaged demo model: the layout {@code DemoAssets} embeds. */
    private void packageModel() {
        Path out = dir(Phase.PACKAGE);
        copy(dir(Phase.TEXT).resolve(TEXT_MODEL), out.resolve(TEXT_MODEL));
        copy(dir(Phase.VQ).resolve(IMAGE_MODEL), out.resolve(IMAGE_MODEL));
        copy(dir(Phase.VQ).resolve(CLUSTER_TABLE), out.resolve(CLUSTER_TABLE));
        for (Phase p : List.of(Phase.STAGE1, Phase.STAGE2)) {
            for (String f : List.of("model_config.json", "model.safetensors")) {
                copy(dir(p).resolve("export").resolve(f), out.resolve(p.folder()).resolve(f));
            }
        }
        StringBuilder info = new StringBuilder();
        for (Phase p : List.of(Phase.VQ, Phase.IMAGE, Phase.STAGE1, Phase.STAGE2)) {
            try {
                info.append("[").append(p.folder()).append("]\n")
                        .append(Files.readString(dir(p).resolve("summary.txt"), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new CogVideoException("cannot read the summary of phase " + p.folder() + ": " + e.getMessage(),
                        e);
            }
        }
        writeAtomically(out.resolve("training-summary.txt"), info.toString().getBytes(StandardCharsets.UTF_8));
        listener.progress(Phase.PACKAGE, 1, 1, "in " + out);
    }

    private static void copy(Path from, Path to) {
        try {
            Files.createDirectories(to.toAbsolutePath().getParent());
            writeAtomically(to, Files.readAllBytes(from));
        } catch (IOException e) {
            throw new CogVideoException("cannot copy " + from + " to " + to + ": " + e.getMessage(), e);
        }
    }

    /** The newest file {@code prefix<number>suffix} in {@code dir}, by its number. */
    static Optional<Path> newest(Path dir, String prefix, String suffix) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = new ArrayList<>(s.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith(prefix) && n.endsWith(suffix)
                        && n.substring(prefix.length(), n.length() - suffix.length()).matches("\\d{1,9}");
            }).toList());
            return files.stream().max((a, b) -> Integer.compare(number(a, prefix, suffix), number(b, prefix, suffix)));
        } catch (IOException e) {
            throw new CogVideoException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static int number(Path f, String prefix, String suffix) {
        String n = f.getFileName().toString();
        return Integer.parseInt(n.substring(prefix.length(), n.length() - suffix.length()));
    }
}
