package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.training.AdamWOptions;
import io.cogvideo.training.LearningRateSchedule;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.DType;
import io.cogvideo.training.TrainableModel;
import io.cogvideo.training.TrainableModels;
import io.cogvideo.training.Trainer;
import io.cogvideo.training.TrainerOptions;
import io.cogvideo.training.TrainingDataset;
import io.cogvideo.training.TrainingLayout;
import io.cogvideo.training.TrainingListener;
import io.cogvideo.training.TrainingProgress;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Finetunes a CogVideo stage model on tokenized video data (issue #13). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Finetune a CogVideo stage model with the paper's recipe: the inherited text-to-image model "
                + "stays frozen, the attention-plus channel, the extra position table and alpha train "
                + "(--train-everything trains every parameter).",
            "Data: the original's binary rows (--data FILE.bin: little-endian int32, layout[2] tokens per row = "
                + "text slots then frame tokens; or a [rows, layout[2]] integer .npy).",
            "Writes OUTPUT/checkpoint-NNNNNN/ (model_config.json + model.safetensors, loadable by generate; "
                + "optimizer.safetensors; trainer-state.json; loss.csv; loss.png) and OUTPUT/loss.csv, loss.png."})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Option(names = "--stage", defaultValue = "1", description = "1 (key frames: loss on frames 1-4) or 2 "
            + "(interpolation: frames 0, 2, 4 given, loss on 1 and 3). Default: ${DEFAULT-VALUE}.")
    int stage;

    @Option(names = "--init-from", paramLabel = "DIR", description = "Checkpoint folder to start from (SAT layout or "
            + "model_config.json + safetensors). Required unless --resume.")
    Path initFrom;

    @Option(names = "--data", paramLabel = "FILE", required = true, description = "Training rows (.bin or .npy).")
    Path data;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", required = true,
            description = "Folder for checkpoints and the loss curve.")
    Path output;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue a run exactly: a checkpoint folder, or an "
            + "output folder (its 'latest' checkpoint). Stage, batch, seed and eval fraction must match the run.")
    Path resume;

    @Option(names = "--steps", defaultValue = "1000", description = "Optimizer updates. Default: ${DEFAULT-VALUE}.")
    long steps;

    @Option(names = "--batch", defaultValue = "1", description = "Examples per update. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--lr", defaultValue = "2e-4", description = "Peak learning rate. Default: ${DEFAULT-VALUE}.")
    double lr;

    @Option(names = "--warmup", defaultValue = "0.001", description = "Warmup as a fraction of --steps, then cosine "
            + "decay. Default: ${DEFAULT-VALUE} (the original's).")
    double warmup;

    @Option(names = "--min-lr-ratio", defaultValue = "0.1", description = "Cosine floor as a fraction of --lr. "
            + "Default: ${DEFAULT-VALUE}.")
    double minLrRatio;

    @Option(names = "--weight-decay", defaultValue = "1e-4", description = "AdamW weight decay. Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--clip", defaultValue = "0.1", description = "Global gradient-norm clip (0: off). "
            + "Default: ${DEFAULT-VALUE}.")
    double clip;

    @Option(names = "--seed", defaultValue = "1234", description = "Data order, held-out split. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--eval-fraction", defaultValue = "0.05", description = "Rows held out for evaluation (0: none). "
            + "Default: ${DEFAULT-VALUE}.")
    double evalFraction;

    @Option(names = "--eval-interval", defaultValue = "100", description = "Evaluate every N updates. "
            + "Default: ${DEFAULT-VALUE}.")
    long evalInterval;

    @Option(names = "--checkpoint-interval", defaultValue = "500", description = "Checkpoint every N updates "
            + "(0: only at the end). Default: ${DEFAULT-VALUE}.")
    long checkpointInterval;

    @Option(names = "--train-everything", description = "Train every parameter (pretraining), not only the recipe's "
            + "trainable set.")
    boolean trainEverything;

    @Option(names = "--pad-id", defaultValue = "20003", description = "<pad> id. Default: ${DEFAULT-VALUE} (icetk).")
    int padId;

    @Option(names = "--start-of-image-id", paramLabel = "ID", description = "<start_of_image> id (default: 150000, "
            + "icetk's, when the vocabulary has it; required for smaller vocabularies).")
    Integer startOfImageId;

    @Option(names = "--backend", paramLabel = "NAME", description = "Backend of the model's training pack (default: "
            + "cpu; the CUDA backend reports the training pack as unsupported).")
    String backend;

    @Option(names = "--hidden-dropout", defaultValue = "0", paramLabel = "P",
            description = "Dropout after the embeddings and on each MLP output, in [0, 1) (the original trained with "
                    + "0.1). Default: ${DEFAULT-VALUE}.")
    float hiddenDropout;

    @Option(names = "--attention-dropout", defaultValue = "0", paramLabel = "P",
            description = "Dropout of the attention probabilities, in [0, 1) (the original: 0.1). "
                    + "Default: ${DEFAULT-VALUE}.")
    float attentionDropout;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "Backend threads (0: all processors). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() {
        CliChecks.threads(threads); // before any work: a huge count would exhaust native threads
        if (initFrom == null && resume == null) {
            throw new CogVideoException("train: give --init-from DIR (a checkpoint to finetune) or --resume DIR");
        }
        if (Files.isRegularFile(output)) {
            throw new CogVideoException("train: output folder " + output + " is a file");
        }
        if (!TrainingDataset.readable(data)) {
            throw new CogVideoException("train: data file " + data + " does not exist or is not readable");
        }
        Path resumeDir = resume == null ? null : Trainer.resolveCheckpoint(resume);
        Path modelDir = resumeDir != null ? resumeDir : initFrom;
        if (!Files.isDirectory(modelDir)) {
            throw new CogVideoException("train: checkpoint folder " + modelDir + " does not exist");
        }
        CogVideoConfig config;
        try (SatCheckpoint ckpt = SatCheckpoint.open(modelDir)) {
            config = CogVideoConfig.fromSatConfig(ckpt.config());
        }
        int soi;
        if (startOfImageId != null) {
            soi = startOfImageId;
        } else if (config.vocabSize() > TrainingLayout.ICETK_START_OF_IMAGE) {
            soi = TrainingLayout.ICETK_START_OF_IMAGE;
        } else {
            throw new CogVideoException("train: the vocabulary has " + config.vocabSize() + " rows, below icetk's "
                    + "<start_of_image> " + TrainingLayout.ICETK_START_OF_IMAGE + "; give --start-of-image-id");
        }
        TrainingLayout layout = new TrainingLayout(config.textSlots(), config.frameLength(), config.frameCount(), padId, soi);
        TrainingDataset dataset = TrainingDataset.rawRows(data, layout, stage);
        TrainerOptions options = TrainerOptions.defaults(output)
                .withStage(stage).withSteps(steps).withBatchSize(batch)
                .withOptimizer(AdamWOptions.ORIGINAL.withLr(lr).withWeightDecay(weightDecay))
                .withSchedule(warmup, LearningRateSchedule.Decay.COSINE, minLrRatio).withClipNorm(clip).withSeed(seed)
                .withTrainEverything(trainEverything).withEvaluation(evalFraction, evalInterval)
                .withCheckpointInterval(checkpointInterval);
        System.err.printf(Locale.ROOT, "data: %d rows of %d tokens (%s); stage %d, %d updates of batch %d%n",
                dataset.size(), layout.sequenceLength(), data, stage, steps, batch);
        try (Backend be = Backends.create(backend == null ? "cpu" : backend,
                new BackendOptions(threads, DType.FLOAT32))) {
            return train(TrainableModels.cogVideo(modelDir, be, hiddenDropout, attentionDropout, seed), dataset,
                    options, resumeDir);
        }
    }

    private int train(TrainableModel model, TrainingDataset dataset, TrainerOptions options, Path resumeDir) {
        TrainingListener bar = new ProgressBar(System.err, System.console() != null);
        Trainer trainer = resumeDir == null ? new Trainer(model, dataset, options, bar)
                : Trainer.resume(model, dataset, options, resumeDir, bar);
        Trainer.Result r = trainer.run();
        System.out.printf(Locale.ROOT, "trained %d updates; last loss %.6f, held-out loss %s; checkpoint %s%n",
                r.steps(), r.curve().points().isEmpty() ? Double.NaN
                        : r.curve().points().get(r.curve().points().size() - 1).loss(),
                Double.isNaN(r.lastEvalLoss()) ? "n/a" : String.format(Locale.ROOT, "%.6f", r.lastEvalLoss()),
                r.lastCheckpoint());
        return 0;
    }

    /** Loss, tokens/s and ETA: a bar redrawn in place on a terminal, a line every 10% otherwise. */
    static final class ProgressBar implements TrainingListener {
        private final PrintStream out;
        private final boolean terminal;
        private long lastDraw;
        private int lastDecile = -1;

        ProgressBar(PrintStream out, boolean terminal) {
            this.out = out;
            this.terminal = terminal;
        }

        @Override
        public void onStep(TrainingProgress p) {
            String eval = Double.isNaN(p.lastEvalLoss()) ? "" : String.format(Locale.ROOT, "  eval %.4f",
                    p.lastEvalLoss());
            String stats = String.format(Locale.ROOT, "%d/%d  loss %.4f%s  lr %.2e  %.0f tok/s  ETA %s", p.step(),
                    p.totalSteps(), p.loss(), eval, p.lr(), p.tokensPerSecond(),
                    ConsoleProgress.clock(p.eta().toMillis() / 1000.0));
            boolean last = p.step() == p.totalSteps();
            if (terminal) {
                long now = System.nanoTime();
                if (now - lastDraw < 100_000_000L && !last) {
                    return;
                }
                lastDraw = now;
                int width = 30;
                int filled = (int) Math.round(p.fraction() * width);
                out.print("\rtraining [" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + stats);
                if (last) {
                    out.println();
                }
                out.flush();
            } else {
                int decile = (int) (p.fraction() * 10);
                if (decile != lastDecile || last) {
                    lastDecile = decile;
                    out.println("training: " + stats);
                }
            }
        }

        @Override
        public void onCheckpoint(long step, Path dir) {
            if (terminal) {
                out.println();
            }
            out.println("checkpoint " + step + ": " + dir);
        }
    }
}
