package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.generation.SequenceLayout;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.CogVideoTraining;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Half;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.training.AdamW;
import io.cogvideo.training.AdamWOptions;
import io.cogvideo.training.TrainingExample;
import io.cogvideo.training.TrainingLayout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Whole-model timings on a model with seeded random fp16 weights (no checkpoint needed): the uncached stage-1
 * prefill of text + 5 frames, and cached steps at several batch sizes, with peak memory; with {@code --what train},
 * full training optimizer steps on one stage-1 row (float32 master weights).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time the transformer on a model of any size with seeded random weights.",
            "Prints prefill time for the full stage-1 sequence, median/p90 ms per cached step, tokens/s and peak "
                + "memory, with ratios against the original implementation's reference figures where given."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Option(names = "--what", defaultValue = "transformer", description = "transformer (default), dsr "
            + "(super-resolution forward per frame), tokenizers (text encode throughput, VQ-VAE decode per frame), "
            + "or train (full optimizer steps on one stage-1 row, the original's freezing: only mixins.* train).")
    String what;

    @Option(names = "--text-tokenizer", paramLabel = "FILE", description = "For --what tokenizers (default: demo).")
    Path textTokenizer;

    @Option(names = "--image-tokenizer", paramLabel = "FILE", description = "For --what tokenizers (default: demo).")
    Path imageTokenizer;

    @Option(names = "--size", defaultValue = "small", description = "tiny (2/64/4), small (8/512/8), real (48/3072/48), "
            + "or custom with --layers/--hidden/--heads. Default: ${DEFAULT-VALUE}.")
    String size;

    @Option(names = "--layers", description = "Layers (custom size).")
    Integer layers;

    @Option(names = "--hidden", description = "Hidden size (custom size).")
    Integer hidden;

    @Option(names = "--heads", description = "Attention heads (custom size).")
    Integer heads;

    @Option(names = "--vocab", defaultValue = "20100", description = "Vocabulary rows. Default: ${DEFAULT-VALUE}.")
    int vocab;

    @Option(names = "--text", defaultValue = "12", description = "Text tokens. Default: ${DEFAULT-VALUE}.")
    int text;

    @Option(names = "--batches", defaultValue = "1,2,8", split = ",", description = "Batch sizes for cached steps. "
            + "Default: ${DEFAULT-VALUE}.")
    int[] batches;

    @Option(names = "--steps", defaultValue = "64", description = "Timed cached steps per batch size. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--warmup", defaultValue = "16", description = "Untimed steps first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--step-frame", defaultValue = "1", description = "Frame (1-4) in which the timed cached steps run: "
            + "text and the frames before it are prefilled first; later frames attend over longer caches. "
            + "Default: ${DEFAULT-VALUE}.")
    int stepFrame;

    @Option(names = "--prefill-runs", defaultValue = "3", description = "Timed prefills (median). Default: ${DEFAULT-VALUE}.")
    int prefillRuns;

    @Option(names = "--reference-prefill-s", description = "Reference prefill time in seconds, for a ratio "
            + "(the original on this machine at the small size: 5.4).")
    Double refPrefill;

    @Option(names = "--reference-step-ms", description = "Reference cached step in ms, for a ratio (original, small: 26).")
    Double refStep;

    @Option(names = "--train-steps", defaultValue = "3", description = "For --what train: timed optimizer steps "
            + "(median). Default: ${DEFAULT-VALUE}.")
    int trainSteps;

    @Option(names = "--train-warmup", defaultValue = "1", description = "For --what train: untimed steps first. "
            + "Default: ${DEFAULT-VALUE}.")
    int trainWarmup;

    @Option(names = "--reference-train-s", description = "For --what train: the original's seconds per optimizer "
            + "step, for a ratio (small, frozen, 2 threads: 7.6).")
    Double refTrain;

    @Option(names = "--backend", description = "Backend name (default: best available).")
    String backend;

    @Option(names = "--weights", defaultValue = "auto", description = "Weight storage: auto (as the checkpoint: the "
            + "random weights are float16), fp16 or fp32. Default: ${DEFAULT-VALUE}.")
    String weights;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: all cores).")
    int threads;

    @Override
    public Integer call() {
        CliChecks.threads(threads); // before any work: a huge count would exhaust native threads
        if (what.equals("tokenizers")) {
            return tokenizers();
        }
        if (!what.equals("transformer") && !what.equals("dsr") && !what.equals("train")) {
            throw new CogVideoException("--what must be transformer, dsr, tokenizers or train, got '" + what + "'");
        }
        int l;
        int h;
        int nh;
        switch (size) {
            case "tiny" -> {
                l = 2;
                h = 64;
                nh = 4;
            }
            case "small" -> {
                l = 8;
                h = 512;
                nh = 8;
            }
            case "real" -> {
                l = 48;
                h = 3072;
                nh = 48;
                vocab = Math.max(vocab, 150010);
            }
            case "custom" -> {
                if (layers == null || hidden == null || heads == null) {
                    throw new CogVideoException("--size custom needs --layers, --hidden and --heads");
                }
                l = layers;
                h = hidden;
                nh = heads;
            }
            default -> throw new CogVideoException("--size must be tiny, small, real or custom, got '" + size + "'");
        }
        if (layers != null) {
            l = layers;
        }
        if (hidden != null) {
            h = hidden;
        }
        if (heads != null) {
            nh = heads;
        }
        if (what.equals("dsr")) {
            return dsr(l, h, nh);
        }
        if (what.equals("train")) {
            return train(l, h, nh);
        }
        CogVideoConfig c = new CogVideoConfig(l, h, nh, vocab, 1024, 2000, 64, 400, 5, -1, 1,
                Math.min(20000, vocab), 1e-5f);
        System.out.printf(Locale.ROOT, "model: %d layers, hidden %d, %d heads, vocab %d: %,d parameters%n", l, h, nh,
                vocab, c.parameterCount());
        try (Backend b = Backends.create(backend, new BackendOptions(threads, weightDtype()))) {
            System.out.println("backend: " + b.description());
            long t0 = System.nanoTime();
            CogVideoModel model = new CogVideoModel(c, CogVideoWeights.load(c, new RandomWeights(42), b), b);
            System.out.printf(Locale.ROOT, "weights ready in %.1f s%n", (System.nanoTime() - t0) / 1e9);

            int n = text + 5 * c.frameLength();
            int[] ids = new int[n];
            SplittableRandom rnd = new SplittableRandom(7);
            for (int i = 0; i < n; i++) {
                ids[i] = i < text ? c.imageVocabSize() + rnd.nextInt(vocab - c.imageVocabSize())
                        : rnd.nextInt(c.imageVocabSize());
            }
            int[] pos = SequenceLayout.positions(1, text, c.frameLength(), n);
            double[] pre = new double[prefillRuns];
            for (int r = 0; r < prefillRuns; r++) {
                try (InferenceState s = model.newState(1, text, SequenceOptions.stage1(0f, false))) {
                    long a = System.nanoTime();
                    try (Tensor t = model.prefill(s, new int[][] {ids}, pos, new int[] {n - 1})) {
                        b.toFloats(t);
                    }
                    pre[r] = (System.nanoTime() - a) / 1e9;
                }
            }
            if (prefillRuns > 0) {
                double preMed = median(pre);
                System.out.printf(Locale.ROOT, "prefill of %d tokens (stage 1, text %d + 5 frames): median %.3f s over %d runs%s%n",
                        n, text, preMed, prefillRuns, refPrefill == null ? ""
                                : String.format(Locale.ROOT, " (reference %.2f s: %.2fx faster)", refPrefill, refPrefill / preMed));
            }
            for (int batch : batches) {
                stepBench(model, b, c, batch, ids, pos);
            }
            System.out.printf(Locale.ROOT, "peak: heap %.0f MiB used, process RSS %s%n", usedHeapMiB(), peakRss());
        }
        return 0;
    }

    private void stepBench(CogVideoModel model, Backend b, CogVideoConfig c, int batch, int[] ids, int[] pos) {
        if (stepFrame < 1 || stepFrame >= c.frameCount()) {
            throw new CogVideoException("--step-frame must be in [1, " + (c.frameCount() - 1) + "], got " + stepFrame);
        }
        int start = text + stepFrame * c.frameLength(); // text + earlier frames cached, steps run in frame stepFrame
        int[][] prefix = new int[batch][];
        for (int i = 0; i < batch; i++) {
            prefix[i] = Arrays.copyOf(ids, start);
        }
        try (InferenceState s = model.newState(batch, text, SequenceOptions.stage1(0f, true))) {
            try (Tensor t = model.prefill(s, prefix, Arrays.copyOf(pos, start), new int[] {start - 1})) {
                b.toFloats(t);
            }
            int total = warmup + steps;
            if (start + total > ids.length) {
                throw new CogVideoException("too many steps for one sequence: " + total);
            }
            double[] ms = new double[steps];
            for (int i = 0; i < total; i++) {
                int[] tok = new int[batch];
                Arrays.fill(tok, ids[start + i]);
                long a = System.nanoTime();
                try (Tensor t = model.step(s, tok, pos[start + i])) {
                    b.toFloats(t);
                }
                if (i >= warmup) {
                    ms[i - warmup] = (System.nanoTime() - a) / 1e6;
                }
            }
            Arrays.sort(ms);
            double med = median(ms);
            double p90 = ms[(int) Math.min(ms.length - 1, Math.round(0.9 * (ms.length - 1)))];
            System.out.printf(Locale.ROOT, "cached step, batch %d, frame %d: median %.2f ms, p90 %.2f ms, %.1f tokens/s%s%n",
                    batch, stepFrame, med, p90, batch * 1000.0 / med, refStep == null || batch != 1 ? ""
                            : String.format(Locale.ROOT, " (reference %.1f ms: %.2fx faster)", refStep, refStep / med));
        }
    }

    private int dsr(int l, int h, int nh) {
        io.cogvideo.model.DsrConfig c = new io.cogvideo.model.DsrConfig(l, h, nh, vocab, 1024, 3600, 96, 400, 3600, 5, 5,
                Math.min(20000, vocab), 1e-5f);
        long params = (long) vocab * h + 1024L * h + 3600L * h + l * (16L * h * h + 13L * h) + 2L * h;
        System.out.printf(Locale.ROOT, "DSR model: %d layers, hidden %d, %d heads: %,d parameters (%.2f GB in fp16)%n",
                l, h, nh, params, params * 2 / 1e9);
        long real = 150010L * 3072 + 1024L * 3072 + 3600L * 3072 + 48 * (16L * 3072 * 3072 + 13L * 3072) + 2L * 3072;
        System.out.printf(Locale.ROOT, "real-size DSR (48/3072/48): %,d parameters, %.1f GB of fp16 weights; "
                + "activations per frame in one pass: about %.2f GB fp32%n", real, real * 2 / 1e9,
                4096.0 * 3072 * 4 * 8 / 1e9);
        try (Backend b = Backends.create(backend, new BackendOptions(threads, weightDtype()))) {
            io.cogvideo.model.DsrModel m = io.cogvideo.model.DsrModel.of(c, new RandomWeights(7), b);
            int n = c.sequenceLength();
            int[] ids = new int[n];
            SplittableRandom rnd = new SplittableRandom(3);
            int pad = 80;
            for (int i = 0; i < n; i++) {
                ids[i] = i < pad ? 0 : i < 96 ? 20000 + rnd.nextInt(vocab - 20000) : rnd.nextInt(c.imageVocabSize());
            }
            double[] t = new double[prefillRuns];
            for (int r = 0; r < prefillRuns; r++) {
                long a = System.nanoTime();
                try (Tensor hid = m.forward(new int[][] {ids}, c.positions(pad), pad);
                        Tensor lg = m.logits(hid, 496, 3600)) {
                    b.toFloats(lg);
                }
                t[r] = (System.nanoTime() - a) / 1e9;
            }
            System.out.printf(Locale.ROOT, "DSR forward + logits of one frame (4096 tokens): median %.2f s over %d runs "
                    + "(sampling excluded)%n", median(t), prefillRuns);
            System.out.printf(Locale.ROOT, "peak: process RSS %s%n", peakRss());
        }
        return 0;
    }

    private int tokenizers() {
        DemoAssets demo = textTokenizer == null || imageTokenizer == null ? DemoAssets.install() : null;
        Path tm = textTokenizer != null ? textTokenizer : demo.textTokenizer();
        io.cogvideo.tokenizer.IceTokenizer tok = io.cogvideo.tokenizer.IceTokenizer.load(tm,
                textTokenizer != null ? 20000 : 512, io.cogvideo.tokenizer.IceTokenizer.COGVIDEO_SPECIALS);
        String[] prompts = {"一只狮子在草原上奔跑", "A man is skiing down a snowy mountain.", "4.0秒", "一个男人在滑雪 视频",
            "海浪拍打着岩石，夕阳西下，天空被染成了橙色和紫色。"};
        long chars = 0;
        for (int w = 0; w < 2000; w++) {
            tok.encode(prompts[w % prompts.length]);
        }
        int n = 20000;
        long a = System.nanoTime();
        for (int i = 0; i < n; i++) {
            String p = prompts[i % prompts.length];
            chars += p.length();
            tok.encode(p);
        }
        double s = (System.nanoTime() - a) / 1e9;
        System.out.printf(Locale.ROOT, "text encode (%s): %.0f prompts/s, %.2f M chars/s%n", tm.getFileName(), n / s,
                chars / s / 1e6);
        Path im = imageTokenizer != null ? imageTokenizer : demo.imageTokenizer();
        try (Backend b = Backends.create(backend, new BackendOptions(threads, weightDtype()))) {
            io.cogvideo.tokenizer.image.ImageTokenizer it = io.cogvideo.tokenizer.image.ImageTokenizer.load(im, b);
            int[] grid = new int[400];
            SplittableRandom rnd = new SplittableRandom(5);
            for (int i = 0; i < grid.length; i++) {
                grid[i] = rnd.nextInt(it.codebookSize());
            }
            it.decode(grid, 8);
            double[] t = new double[Math.max(3, prefillRuns)];
            for (int r = 0; r < t.length; r++) {
                long x = System.nanoTime();
                it.decode(grid, 8);
                t[r] = (System.nanoTime() - x) / 1e6;
            }
            System.out.printf(Locale.ROOT, "VQ-VAE decode 20x20 -> 160x160 (%s, codebook %d): median %.1f ms per frame "
                    + "over %d runs%n", im.getFileName(), it.codebookSize(), median(t), t.length);
        }
        return 0;
    }

    /**
     * Training speed: a random model of the chosen size with float32 master weights, one stage-1 row of the full
     * layout (64 text slots + 5 frames), the original's freezing ({@code mixins.*} trainable), and full optimizer
     * steps: forward + backward ({@link CogVideoTraining}), AdamW ({@link AdamW}, the original's hyper-parameters) on
     * the trainable parameters, and the push of the updated weights to the backend (the model rebuilt, as
     * {@code CogVideoTrainable.setParameters} does).
     */
    private int train(int l, int h, int nh) {
        if (trainSteps < 1 || trainWarmup < 0) {
            throw new CogVideoException("--train-steps must be >= 1 and --train-warmup >= 0, got " + trainSteps
                    + " and " + trainWarmup);
        }
        CogVideoConfig c = new CogVideoConfig(l, h, nh, vocab, 1024, 2000, 64, 400, 5, -1, 1,
                Math.min(20000, vocab), 1e-5f);
        if (vocab <= 20090) {
            throw new CogVideoException("--what train needs --vocab > 20090 (text ids, <pad> 20003 and "
                    + "<start_of_image> 20090 above the 20000 image tokens), got " + vocab);
        }
        Map<String, int[]> shapes = CogVideoTraining.parameterShapes(c);
        Map<String, float[]> values = new LinkedHashMap<>(); // float32 master weights
        RandomWeights random = new RandomWeights(42);
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            values.put(e.getKey(), random.require(e.getKey(), e.getValue()).toFloatArray());
        }
        Set<String> trainable = CogVideoTraining.plusChannelKeys(c);
        long trainableCount = 0;
        for (String k : trainable) {
            trainableCount += values.get(k).length;
        }
        System.out.printf(Locale.ROOT, "model: %d layers, hidden %d, %d heads, vocab %d: %,d parameters, %,d "
                + "trainable (mixins.*)%n", l, h, nh, vocab, c.parameterCount(), trainableCount);
        io.cogvideo.model.WeightSource source = (key, shape) -> {
            float[] v = values.get(key);
            if (v == null) {
                throw new CogVideoException("no parameter '" + key + "'");
            }
            return TensorData.ofFloats(key, v, shape);
        };
        TrainingLayout layout = new TrainingLayout(64, c.frameLength(), c.frameCount(), TrainingLayout.ICETK_PAD,
                20090);
        SplittableRandom rnd = new SplittableRandom(7);
        int[] textIds = new int[12];
        for (int i = 0; i < textIds.length; i++) {
            int id;
            do {
                id = c.imageVocabSize() + rnd.nextInt(vocab - c.imageVocabSize());
            } while (id == TrainingLayout.ICETK_PAD || id == 20090);
            textIds[i] = id;
        }
        int[][] frames = new int[c.frameCount()][c.frameLength()];
        for (int[] f : frames) {
            for (int i = 0; i < f.length; i++) {
                f[i] = rnd.nextInt(c.imageVocabSize());
            }
        }
        TrainingExample row = layout.build(textIds, frames, 1);
        int n = row.length();
        Map<String, float[]> params = new LinkedHashMap<>();
        for (String k : trainable) {
            params.put(k, values.get(k)); // AdamW updates the master arrays in place
        }
        AdamW adam = new AdamW(AdamWOptions.ORIGINAL);
        try (Backend b = Backends.create(backend, new BackendOptions(threads, DType.FLOAT32))) {
            System.out.println("backend: " + b.description());
            long t0 = System.nanoTime();
            CogVideoModel model = new CogVideoModel(c, CogVideoWeights.load(c, source, b), b);
            System.out.printf(Locale.ROOT, "weights ready in %.1f s; one stage-1 row of %d tokens (64 text slots + %d"
                    + " frames of %d)%n", (System.nanoTime() - t0) / 1e9, n, c.frameCount(), c.frameLength());
            double[] total = new double[trainSteps];
            double[] fwdBwd = new double[trainSteps];
            for (int step = 0; step < trainWarmup + trainSteps; step++) {
                long a = System.nanoTime();
                CogVideoTraining.Result r = new CogVideoTraining(model, CogVideoTraining.Options.defaults())
                        .lossAndGradients(List.of(row), trainable, step);
                long fb = System.nanoTime();
                adam.step(params, r.gradients(), AdamWOptions.ORIGINAL.lr());
                long ad = System.nanoTime();
                CogVideoModel old = model;
                model = new CogVideoModel(c, CogVideoWeights.load(c, source, b), b);
                old.weights().close();
                long end = System.nanoTime();
                boolean timed = step >= trainWarmup;
                System.out.printf(Locale.ROOT, "%s step %d: loss %.4f, %.2f s (forward+backward %.2f s, AdamW %.3f s,"
                        + " weight push %.2f s)%n", timed ? "timed" : "warm-up", step + 1, r.loss(), (end - a) / 1e9,
                        (fb - a) / 1e9, (ad - fb) / 1e9, (end - ad) / 1e9);
                if (timed) {
                    total[step - trainWarmup] = (end - a) / 1e9;
                    fwdBwd[step - trainWarmup] = (fb - a) / 1e9;
                }
            }
            double med = median(total);
            System.out.printf(Locale.ROOT, "train step (stage 1, %d tokens, mixins.* trainable): median %.2f s/step "
                    + "(forward+backward median %.2f s) over %d steps after %d warm-up, %.0f tokens/s%s%n", n, med,
                    median(fwdBwd), trainSteps, trainWarmup, n / med, refTrain == null ? ""
                            : String.format(Locale.ROOT, " (original %.2f s/step, %.0f tokens/s: %.2fx)", refTrain,
                                    n / refTrain, refTrain / med));
            System.out.printf(Locale.ROOT, "peak: heap %.0f MiB used, process RSS %s%n", usedHeapMiB(), peakRss());
            model.weights().close();
        }
        return 0;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double usedHeapMiB() {
        Runtime r = Runtime.getRuntime();
        return (r.totalMemory() - r.freeMemory()) / 1048576.0;
    }

    private io.cogvideo.spi.DType weightDtype() {
        return switch (weights) {
            case "auto" -> null;
            case "fp16" -> DType.FLOAT16;
            case "fp32" -> DType.FLOAT32;
            default -> throw new CogVideoException("--weights must be auto, fp16 or fp32, got '" + weights + "'");
        };
    }

    /** Peak resident set size from /proc (Linux), else "n/a". */
    static String peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.2f GiB (VmHWM)", kb / 1048576.0);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return "n/a";
    }

    /** Seeded random fp16 weights in the checkpoint's key names: N(0, 0.02) matrices, LayerNorms at 1/0. */
    static final class RandomWeights implements io.cogvideo.model.WeightSource {
        private final long seed;

        /** 65536 float16 draws of N(0, 0.02), picked by random 16-bit indices. */
        private static final short[] GAUSSIAN = gaussianTable();

        RandomWeights(long seed) {
            this.seed = seed;
        }

        private static short[] gaussianTable() {
            SplittableRandom r = new SplittableRandom(20221);
            double[] d = new double[65536];
            for (int i = 0; i < d.length; i++) {
                d[i] = r.nextGaussian() * 0.02;
            }
            short[] t = new short[d.length];
            for (int i = 0; i < t.length; i++) {
                t[i] = Half.fromFloat((float) d[i]);
            }
            return t;
        }

        @Override
        public TensorData require(String key, int... shape) {
            long n = TensorData.numel(shape);
            if (n * 2 > Integer.MAX_VALUE - 8) {
                throw new CogVideoException("tensor " + key + " is too large for the random-weight source");
            }
            boolean norm = key.contains("layernorm");
            boolean one = norm && key.endsWith("weight");
            boolean zero = (norm && key.endsWith("bias")) || key.contains("attn_distribution");
            short[] values = new short[(int) n];
            if (one) {
                Arrays.fill(values, Half.fromFloat(1f));
            } else if (!zero) {
                // N(0, 0.02) through a table of 65536 float16 quantiles: 4 values per random long (the 7.7 B
                // parameters of the real size take seconds, not minutes)
                SplittableRandom r = new SplittableRandom(seed ^ key.hashCode());
                int i = 0;
                for (; i + 3 < values.length; i += 4) {
                    long bits = r.nextLong();
                    values[i] = GAUSSIAN[(int) bits & 0xffff];
                    values[i + 1] = GAUSSIAN[(int) (bits >>> 16) & 0xffff];
                    values[i + 2] = GAUSSIAN[(int) (bits >>> 32) & 0xffff];
                    values[i + 3] = GAUSSIAN[(int) (bits >>> 48) & 0xffff];
                }
                for (; i < values.length; i++) {
                    values[i] = GAUSSIAN[r.nextInt(65536)];
                }
            }
            ByteBuffer buf = ByteBuffer.allocate((int) n * 2).order(ByteOrder.LITTLE_ENDIAN);
            buf.asShortBuffer().put(values);
            return new TensorData(key, DType.FLOAT16, shape, buf);
        }
    }
}
