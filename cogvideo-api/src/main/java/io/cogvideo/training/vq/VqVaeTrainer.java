package io.cogvideo.training.vq;

import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.Backend;
import io.cogvideo.training.AdamW;
import io.cogvideo.training.AdamWOptions;
import io.cogvideo.training.OptimizerState;
import io.cogvideo.training.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Trains a {@link VqVaeModel} on random crops (of four candidates, the one with the largest pixel variance) of {@link VqTrainingImages}: loss = MSE of the reconstruction on
 * icetk-normalised pixels + {@code beta} x commitment MSE, straight-through gradients to the encoder, AdamW on the
 * encoder and decoder, and an EMA codebook as icetk's {@code VectorQuantizeEMA} (cluster sizes and sums with decay,
 * Laplace smoothing eps 1e-5). The codebook starts from encoder outputs of the first batch (data-dependent
 * initialisation) and, every {@code restartEvery} steps, codes that no batch chose during the last {@code restartEvery}
 * steps are restarted at random encoder outputs of the current batch.
 *
 * <p>Every random choice (initialisation, which images, their seeds, crop offsets, restarts) derives from the options'
 * seed and the step number, and checkpoints hold the parameters, the codebook, its EMA statistics and AdamW's state,
 * so a run resumed from a checkpoint ends with exactly the weights of an uninterrupted run. Not thread-safe.
 */
public final class VqVaeTrainer {
    /** Laplace smoothing of the EMA cluster sizes (icetk's VectorQuantizeEMA). */
    static final double EMA_EPS = 1e-5;
    /** Steps over which {@link VqTrainingProgress#codesUsed} counts codes when restarts are off. */
    static final int USAGE_WINDOW = 100;
    /** Random crops drawn per image, of which the most varied is trained on. */
    static final int CROP_CANDIDATES = 4;
    private static final String STEP_KEY = "vq.step";
    private static final String OPTIONS_KEY = "vq.options";

    private final Backend backend;
    private final VqTrainingImages images;
    private final VqTrainerOptions options;
    private final VqVaeModel model;
    private final AdamW adam;
    private float[] clusterSize;
    private float[] embedAvg;
    /** Per code, the last step that assigned it (or restarted it). */
    private float[] lastUsed;
    private int step;

    private VqVaeTrainer(Backend backend, VqTrainingImages images, VqTrainerOptions options, VqVaeModel model,
            AdamW adam, float[] clusterSize, float[] embedAvg, float[] lastUsed, int step) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.images = Objects.requireNonNull(images, "images");
        this.options = options;
        this.model = model;
        this.adam = adam;
        this.clusterSize = clusterSize;
        this.embedAvg = embedAvg;
        this.lastUsed = lastUsed;
        this.step = step;
        int r = model.architecture().compressRate();
        if (options.crop() % r != 0 || options.crop() > images.height() || options.crop() > images.width()) {
            throw new IllegalArgumentException("crop = " + options.crop() + "; allowed: a multiple of the compress rate "
                    + r + ", at most the image size " + images.height() + "x" + images.width());
        }
    }

    private static AdamWOptions adamOptions(VqTrainerOptions o) {
        return new AdamWOptions(o.lr(), 0.9, 0.99, 1e-8, 0.0);
    }

    /**
     * The demo's recipe, for {@link VqArchitecture#demo()} on the 96 x 96 frames of the demo world: 1000 steps of 8
     * random 48 x 48 crops, AdamW lr 2e-3 (30 warm-up steps, cosine to 10%), commitment beta 0.25, EMA decay 0.99,
     * dead-code restarts every 25 steps, seed 14, a resumable checkpoint every 100 steps. One step costs about 1.4 s
     * of CPU time on the CPU backend (2 threads) on the development machine, so the run takes roughly 12 to 20
     * minutes there when the two cores are free.
     */
    public static VqTrainerOptions demoOptions() {
        return new VqTrainerOptions(1000, 8, 48, 2e-3, 30, 0.25, 0.99, 25, 14, 100);
    }

    /** A trainer at step 0 with a freshly initialised model. */
    public static VqVaeTrainer start(Backend backend, VqArchitecture arch, VqTrainingImages images,
            VqTrainerOptions options) {
        VqVaeModel model = VqVaeModel.initialise(arch, options.seed());
        return new VqVaeTrainer(backend, images, options, model, new AdamW(adamOptions(options)), null, null, null,
                0);
    }

    /**
     * A trainer continuing from a checkpoint written by {@link #saveCheckpoint}; {@code options} may extend the step
     * count but must otherwise equal the run's (they are compared with the ones stored).
     *
     * @throws IllegalArgumentException if the options differ in anything but {@code steps} or
     *                                  {@code checkpointInterval}
     */
    public static VqVaeTrainer resume(Backend backend, VqArchitecture arch, VqTrainingImages images,
            VqTrainerOptions options, Path checkpoint) {
        Map<String, String> meta = SafetensorsWriter.readMetadata(checkpoint);
        String stored = meta.get(OPTIONS_KEY);
        if (stored == null || !stored.equals(comparable(options))) {
            throw new IllegalArgumentException("checkpoint " + checkpoint + " was written with options " + stored
                    + ", not " + comparable(options) + " (only steps and checkpointInterval may change)");
        }
        int step = Integer.parseInt(meta.get(STEP_KEY));
        try (StateDict sd = SafetensorsReader.read(checkpoint)) {
            VqVaeModel model = VqVaeModel.fromStateDict(arch, sd);
            Map<String, float[]> m = new LinkedHashMap<>();
            Map<String, float[]> v = new LinkedHashMap<>();
            for (String k : model.parameters().keySet()) {
                if (sd.contains("adam.m." + k)) {
                    m.put(k, sd.get("adam.m." + k).toFloatArray());
                    v.put(k, sd.get("adam.v." + k).toFloatArray());
                }
            }
            long adamStep = Long.parseLong(meta.get("vq.adam_step"));
            AdamW adam = new AdamW(adamOptions(options), new OptimizerState(adamStep, m, v));
            float[] cs = sd.contains("ema.cluster_size") ? sd.get("ema.cluster_size").toFloatArray() : null;
            float[] ea = sd.contains("ema.embed_avg") ? sd.get("ema.embed_avg").toFloatArray() : null;
            float[] lu = sd.contains("restart.last_used") ? sd.get("restart.last_used").toFloatArray() : null;
            return new VqVaeTrainer(backend, images, options, model, adam, cs, ea, lu, step);
        }
    }

    private static String comparable(VqTrainerOptions o) {
        return o.withSteps(1).withCheckpointInterval(0).toString();
    }

    /** The model being trained (live). */
    public VqVaeModel model() {
        return model;
    }

    /** Steps completed. */
    public int step() {
        return step;
    }

    /** The options. */
    public VqTrainerOptions options() {
        return options;
    }

    /**
     * Runs the remaining steps up to {@code options.steps()}, writing a resumable checkpoint
     * ({@code checkpointDir/vq-step-<n>.safetensors}) every {@code checkpointInterval} steps and at the end when
     * {@code checkpointDir} is not null.
     */
    public void train(VqTrainingListener listener, Path checkpointDir) {
        while (step < options.steps()) {
            VqTrainingProgress p = trainStep();
            if (listener != null) {
                listener.onStep(p);
            }
            if (checkpointDir != null && ((options.checkpointInterval() > 0
                    && step % options.checkpointInterval() == 0) || step == options.steps())) {
                saveCheckpoint(checkpointDir.resolve("vq-step-" + step + ".safetensors"));
            }
        }
    }

    /** Stream of a step's random choices. */
    private SplittableRandom random(int t, long salt) {
        return new SplittableRandom(options.seed() * 0x9E3779B97F4A7C15L + t * 0xBF58476D1CE4E5B9L + salt);
    }

    /** The batch of 1-based step {@code t}: random images and random crops, normalised, [B, 3, crop, crop]. */
    float[] batch(int t) {
        SplittableRandom rnd = random(t, 1);
        int b = options.batch();
        int s = options.crop();
        int h = images.height();
        int w = images.width();
        float[] out = new float[b * 3 * s * s];
        for (int i = 0; i < b; i++) {
            int index = rnd.nextInt(images.size());
            float[] img = images.image(index, rnd.nextLong());
            if (img.length != 3 * h * w) {
                throw new IllegalArgumentException("image " + index + " has " + img.length + " values; [3, " + h
                        + ", " + w + "] = " + 3 * h * w + " are expected");
            }
            // of CROP_CANDIDATES random crops, the one with the largest pixel variance (fewer blank crops)
            int y0 = 0;
            int x0 = 0;
            double bestVar = -1;
            for (int cand = 0; cand < CROP_CANDIDATES; cand++) {
                int cy = rnd.nextInt(h - s + 1);
                int cx = rnd.nextInt(w - s + 1);
                double var = cropVariance(img, h, w, cy, cx, s);
                if (var > bestVar) {
                    bestVar = var;
                    y0 = cy;
                    x0 = cx;
                }
            }
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < s; y++) {
                    System.arraycopy(img, (c * h + y0 + y) * w + x0, out, ((i * 3 + c) * s + y) * s, s);
                }
            }
        }
        return VqVaeModel.normalise(out, b, s, s);
    }

    private static double cropVariance(float[] img, int h, int w, int y0, int x0, int s) {
        double sum = 0;
        double sq = 0;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < s; y++) {
                int o = (c * h + y0 + y) * w + x0;
                for (int x = 0; x < s; x++) {
                    double v = img[o + x];
                    sum += v;
                    sq += v * v;
                }
            }
        }
        double n = 3.0 * s * s;
        return sq / n - (sum / n) * (sum / n);
    }

    /** One optimizer step. */
    public VqTrainingProgress trainStep() {
        long t0 = System.nanoTime();
        int t = step + 1;
        int b = options.batch();
        int s = options.crop();
        float[] x = batch(t);
        VqArchitecture arch = model.architecture();
        int k = arch.codebookSize();
        int d = arch.embeddingDim();
        if (clusterSize == null) {
            initialiseCodebook(x, t);
        }
        Map<String, float[]> grads = new LinkedHashMap<>();
        model.parameters().forEach((key, v) -> grads.put(key, new float[v.length]));
        VqVaeModel.Pass pass = model.pass(backend, x, b, s, s, options.beta(), grads);
        AdamW.clipGlobalNorm(grads, 1.0);
        adam.step(model.parameters(), grads, options.lrAt(t));

        // EMA codebook update from this step's encoder outputs and assignments
        int hw = pass.gridH() * pass.gridW();
        int positions = b * hw;
        double[] counts = new double[k];
        double[] sums = new double[k * d];
        for (int i = 0; i < b; i++) {
            for (int p = 0; p < hw; p++) {
                int id = pass.ids()[i * hw + p];
                counts[id]++;
                lastUsed[id] = t;
                for (int c = 0; c < d; c++) {
                    sums[id * d + c] += pass.ze()[(i * d + c) * hw + p];
                }
            }
        }
        float decay = (float) options.emaDecay();
        double total = 0;
        for (int j = 0; j < k; j++) {
            clusterSize[j] = (float) (decay * clusterSize[j] + (1 - decay) * counts[j]);
            total += clusterSize[j];
            for (int c = 0; c < d; c++) {
                embedAvg[j * d + c] = (float) (decay * embedAvg[j * d + c] + (1 - decay) * sums[j * d + c]);
            }
        }
        float[] cb = model.codebook();
        for (int j = 0; j < k; j++) {
            double smoothed = (clusterSize[j] + EMA_EPS) / (total + k * EMA_EPS) * total;
            for (int c = 0; c < d; c++) {
                cb[j * d + c] = (float) (embedAvg[j * d + c] / smoothed);
            }
        }
        int window = options.restartEvery() > 0 ? options.restartEvery() : USAGE_WINDOW;
        int used = 0;
        for (int j = 0; j < k; j++) {
            if (t - lastUsed[j] < window) {
                used++;
            }
        }
        if (options.restartEvery() > 0 && t % options.restartEvery() == 0) {
            // codes no batch chose during the last restartEvery steps restart at random encoder outputs
            SplittableRandom rnd = random(t, 2);
            for (int j = 0; j < k; j++) {
                if (t - lastUsed[j] >= options.restartEvery()) {
                    restart(j, pass, rnd, (float) (positions / (double) k));
                    lastUsed[j] = t;
                }
            }
        }
        double entropy = 0;
        for (int j = 0; j < k; j++) {
            if (counts[j] > 0) {
                double pj = counts[j] / positions;
                entropy -= pj * Math.log(pj);
            }
        }
        step = t;
        return new VqTrainingProgress(t, pass.reconstructionMse() + options.beta() * pass.commitmentMse(),
                pass.reconstructionMse(), used, Math.exp(entropy), (System.nanoTime() - t0) / 1e9);
    }

    /** Codebook from random encoder outputs of the first batch (plus a little noise so duplicates differ). */
    private void initialiseCodebook(float[] x, int t) {
        VqArchitecture arch = model.architecture();
        int k = arch.codebookSize();
        int d = arch.embeddingDim();
        int b = options.batch();
        int s = options.crop();
        VqVaeModel.Pass pass = model.pass(backend, x, b, s, s, options.beta(), null);
        int hw = pass.gridH() * pass.gridW();
        float expected = (float) (b * hw / (double) k);
        clusterSize = new float[k];
        embedAvg = new float[k * d];
        lastUsed = new float[k];
        java.util.Arrays.fill(lastUsed, t - 1);
        SplittableRandom rnd = random(t, 3);
        for (int j = 0; j < k; j++) {
            restart(j, pass, rnd, expected);
        }
    }

    /** Code {@code j} becomes a random encoder output of {@code pass} (with noise), with EMA size {@code size}. */
    private void restart(int j, VqVaeModel.Pass pass, SplittableRandom rnd, float size) {
        int d = model.architecture().embeddingDim();
        int hw = pass.gridH() * pass.gridW();
        int n = pass.ze().length / (d * hw);
        int i = rnd.nextInt(n);
        int p = rnd.nextInt(hw);
        float[] cb = model.codebook();
        for (int c = 0; c < d; c++) {
            float v = pass.ze()[(i * d + c) * hw + p] + (float) ((rnd.nextDouble() - 0.5) * 0.02);
            cb[j * d + c] = v;
            embedAvg[j * d + c] = v * size;
        }
        clusterSize[j] = size;
    }

    /** Writes a resumable float32 checkpoint: parameters, codebook, EMA statistics, AdamW state, step. */
    public void saveCheckpoint(Path file) {
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
        } catch (java.io.IOException e) {
            throw new io.cogvideo.CogVideoException("cannot create " + file.getParent() + ": " + e.getMessage(), e);
        }
        Map<String, SafetensorsWriter.Entry> t = new LinkedHashMap<>();
        model.parameters().forEach((k, v) -> t.put(k, new SafetensorsWriter.Entry(v, model.shape(k))));
        VqArchitecture arch = model.architecture();
        t.put(VqVaeModel.CODEBOOK, new SafetensorsWriter.Entry(model.codebook(), arch.codebookSize(),
                arch.embeddingDim()));
        if (clusterSize != null) {
            t.put("ema.cluster_size", new SafetensorsWriter.Entry(clusterSize, arch.codebookSize()));
            t.put("ema.embed_avg", new SafetensorsWriter.Entry(embedAvg, arch.codebookSize(), arch.embeddingDim()));
            t.put("restart.last_used", new SafetensorsWriter.Entry(lastUsed, arch.codebookSize()));
        }
        OptimizerState st = adam.state();
        for (String k : st.keys()) {
            t.put("adam.m." + k, new SafetensorsWriter.Entry(st.expAvg(k), model.shape(k)));
            t.put("adam.v." + k, new SafetensorsWriter.Entry(st.expAvgSq(k), model.shape(k)));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(STEP_KEY, Integer.toString(step));
        meta.put("vq.adam_step", Long.toString(st.step()));
        meta.put(OPTIONS_KEY, comparable(options));
        meta.put("vq.architecture", arch.toString());
        SafetensorsWriter.write(file, t, meta);
    }

    /**
     * Writes the model as an icetk checkpoint for {@link io.cogvideo.tokenizer.image.ImageTokenizer#load}: fp16
     * safetensors with icetk's key names, holding what compress rate 8 needs ({@code enc.*},
     * {@code down_samplers.0.*}, {@code quantize.proj.*}, {@code quantize.embed.weight}, {@code decs.1.*}).
     */
    public static void writeIcetk(VqVaeModel model, Path file) {
        IcetkCheckpointWriter.write(model, file);
    }

    /** Reconstruction quality on whole images. */
    public record Evaluation(int images, double mse, double psnr, float[] originals, float[] reconstructions) {
    }

    /**
     * Encodes and decodes {@code count} images (drawn with {@code seed}, cycling over the indexes) and measures the
     * mean squared error in [0, 1] pixel space (after de-normalisation and clamping) and the PSNR
     * {@code 10 log10(1 / mse)}.
     */
    public static Evaluation evaluate(Backend backend, VqVaeModel model, VqTrainingImages images, int count,
            long seed) {
        int h = images.height();
        int w = images.width();
        int plane = 3 * h * w;
        float[] orig = new float[count * plane];
        float[] rec = new float[count * plane];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < count; i++) {
            System.arraycopy(images.image(i % images.size(), rnd.nextLong()), 0, orig, i * plane, plane);
        }
        int gh = h / model.architecture().compressRate();
        int gw = w / model.architecture().compressRate();
        int chunk = 4;
        for (int i = 0; i < count; i += chunk) {
            int n = Math.min(chunk, count - i);
            float[] part = java.util.Arrays.copyOfRange(orig, i * plane, (i + n) * plane);
            int[] ids = model.encodeIds(backend, VqVaeModel.normalise(part, n, h, w), n, h, w);
            float[] out = VqVaeModel.denormalise(model.decodeIds(backend, ids, n, gh, gw), n, h, w);
            System.arraycopy(out, 0, rec, i * plane, n * plane);
        }
        double se = 0;
        for (int i = 0; i < orig.length; i++) {
            double diff = rec[i] - orig[i];
            se += diff * diff;
        }
        double mse = se / orig.length;
        return new Evaluation(count, mse, 10 * Math.log10(1 / Math.max(mse, 1e-12)), orig, rec);
    }
}
