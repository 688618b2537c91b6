package io.cogvideo.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Finetunes a {@link TrainableModel} on a {@link TrainingDataset}: AdamW on float32 master copies of the trainable
 * parameters, global-norm clipping, warmup plus cosine decay, periodic held-out evaluation, checkpoints, a loss curve.
 *
 * <p><b>Trainable set.</b> By default the model's {@link TrainableModel#recipeTrainableKeys() recipe} (CogVideo: the
 * attention-plus channel, the extra position table and α; everything inherited stays frozen and is never written to
 * the model); with {@link TrainerOptions#trainEverything()} every parameter.
 *
 * <p><b>Determinism.</b> The example of update {@code t}, slot {@code j} is a pure function of the seed and the
 * position {@code (t - 1) * batch + j} in an endless sequence of epochs, each a seeded permutation of the training
 * indices; the held-out split is seeded too. Nothing else is random here, so a fixed seed (and a gradient source that
 * is deterministic at a fixed thread count) gives a fixed loss curve, and resuming from a checkpoint continues it
 * exactly.
 *
 * <p><b>Checkpoint layout</b> ({@code <output>/checkpoint-<step, 6 digits>/}, written into a hidden temporary
 * folder then renamed): {@code model_config.json} and {@code model.safetensors} (every parameter, float32: the SDK
 * loads the folder as a model), {@code optimizer.safetensors} ({@link OptimizerState}), {@code trainer-state.json}
 * (step, seed and the options resume must match), {@code loss.csv} and {@code loss.png}. {@code <output>/latest}
 * names the newest checkpoint; {@code <output>/loss.csv} and {@code loss.png} hold the whole curve.
 *
 * <p>Not thread-safe: one run per instance, on the calling thread.
 */
public final class Trainer {
    /** Name of the file in the output folder naming the newest checkpoint folder. */
    public static final String LATEST = "latest";
    static final String STATE_FILE = "trainer-state.json";
    static final String FORMAT = "cogvideo-java trainer 1";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final TrainableModel model;
    private final TrainingDataset data;
    private final TrainerOptions options;
    private final TrainingListener listener;
    private final LearningRateSchedule schedule;
    private final Set<String> trainable;
    private final int[] trainIndices;
    private final int[] evalIndices;
    private final Map<String, float[]> master;
    private final AdamW adam;
    private long step;
    private final List<LossCurve.Point> points = new ArrayList<>();
    private double lastEval;
    private Path lastCheckpoint;
    private long cachedEpoch = -1;
    private int[] cachedPermutation;

    /**
     * The result of a run.
     *
     * @param steps          updates done in total (including those before a resume)
     * @param curve          the loss curve
     * @param lastEvalLoss   the latest held-out loss (NaN without evaluation)
     * @param lastCheckpoint the newest checkpoint folder written (null if none)
     */
    public record Result(long steps, LossCurve curve, double lastEvalLoss, Path lastCheckpoint) {
    }

    /** A fresh run: master weights are read from the model, the optimizer starts at step 0. */
    public Trainer(TrainableModel model, TrainingDataset data, TrainerOptions options, TrainingListener listener) {
        this(model, data, options, listener, null);
    }

    private Trainer(TrainableModel model, TrainingDataset data, TrainerOptions options, TrainingListener listener,
            Path resumeFrom) {
        this.model = java.util.Objects.requireNonNull(model, "model");
        this.data = java.util.Objects.requireNonNull(data, "data");
        this.options = java.util.Objects.requireNonNull(options, "options");
        this.listener = listener == null ? TrainingListener.NONE : listener;
        this.schedule = options.schedule();
        Map<String, int[]> shapes = model.parameterShapes();
        Set<String> keys = options.trainEverything() ? shapes.keySet() : model.recipeTrainableKeys();
        Set<String> t = new LinkedHashSet<>();
        for (String k : shapes.keySet()) {
            if (keys.contains(k)) {
                t.add(k);
            }
        }
        for (String k : keys) {
            if (!shapes.containsKey(k)) {
                throw new CogVideoException("trainer: trainable key '" + k + "' is not a parameter of the model");
            }
        }
        if (t.isEmpty()) {
            throw new CogVideoException("trainer: the trainable set is empty (the model names no recipe keys; use"
                    + " trainEverything)");
        }
        this.trainable = Collections.unmodifiableSet(t);
        int n = data.size();
        if (n < 1) {
            throw new CogVideoException("trainer: the dataset is empty");
        }
        int nEval = options.evalFraction() > 0 && n >= 2
                ? (int) Math.max(1, Math.min(n - 1, Math.round(options.evalFraction() * n))) : 0;
        int[] perm = permutation(n, mix(options.seed(), 0x5EED5B1171L));
        this.evalIndices = Arrays.copyOf(perm, nEval);
        Arrays.sort(evalIndices);
        this.trainIndices = Arrays.copyOfRange(perm, nEval, n);
        Arrays.sort(trainIndices);
        this.master = new LinkedHashMap<>();
        if (resumeFrom == null) {
            for (String k : trainable) {
                master.put(k, model.parameter(k));
            }
            this.adam = new AdamW(options.optimizer());
            this.step = 0;
            this.lastEval = Double.NaN;
        } else {
            JsonNode state = readState(resumeFrom);
            checkResumable(state, resumeFrom);
            try (StateDict sd = SafetensorsReader.read(resumeFrom.resolve("model.safetensors"))) {
                for (String k : trainable) {
                    TensorData td = sd.get(k);
                    if (td == null) {
                        throw new CogVideoException(resumeFrom + "/model.safetensors: no tensor '" + k + "'");
                    }
                    master.put(k, td.toFloatArray());
                }
            }
            OptimizerState os = OptimizerState.read(resumeFrom.resolve("optimizer.safetensors"));
            this.adam = new AdamW(options.optimizer(), os);
            this.step = state.path("step").asLong();
            if (os.step() != step) {
                throw new CogVideoException(resumeFrom + ": optimizer step " + os.step() + " differs from trainer step "
                        + step);
            }
            this.points.addAll(LossCurve.readCsv(resumeFrom.resolve("loss.csv")).upTo(step).points());
            this.lastEval = state.path("last_eval_loss").isNumber() ? state.path("last_eval_loss").asDouble()
                    : Double.NaN;
            this.lastCheckpoint = resumeFrom;
            model.setParameters(Collections.unmodifiableMap(master));
        }
        for (Map.Entry<String, float[]> e : master.entrySet()) {
            long numel = TensorData.numel(shapes.get(e.getKey()));
            if (e.getValue().length != numel) {
                throw new CogVideoException("trainer: parameter '" + e.getKey() + "' has " + e.getValue().length
                        + " values, its shape " + Arrays.toString(shapes.get(e.getKey())) + " holds " + numel);
            }
        }
    }

    /**
     * Continues a run from a checkpoint folder (or from an output folder, through its {@code latest} file): master
     * weights and optimizer state are read from it, the trainable weights are pushed to {@code model}, the loss curve
     * continues. {@code options} must match the run's stage, batch size, seed, held-out fraction and trainable mode
     * ({@code steps} may grow; that changes the schedule from there on).
     */
    public static Trainer resume(TrainableModel model, TrainingDataset data, TrainerOptions options, Path checkpoint,
            TrainingListener listener) {
        return new Trainer(model, data, options, listener, resolveCheckpoint(checkpoint));
    }

    /** A checkpoint folder itself, or the one an output folder's {@code latest} file names. */
    public static Path resolveCheckpoint(Path dir) {
        if (Files.isRegularFile(dir.resolve(STATE_FILE))) {
            return dir;
        }
        Path latest = dir.resolve(LATEST);
        if (Files.isRegularFile(latest)) {
            try {
                Path c = dir.resolve(Files.readString(latest, StandardCharsets.UTF_8).trim());
                if (Files.isRegularFile(c.resolve(STATE_FILE))) {
                    return c;
                }
                throw new CogVideoException(latest + " names " + c + ", which has no " + STATE_FILE);
            } catch (IOException e) {
                throw new CogVideoException("cannot read " + latest + ": " + e.getMessage(), e);
            }
        }
        throw new CogVideoException(dir + " is not a training checkpoint (no " + STATE_FILE + ") nor an output folder"
                + " (no '" + LATEST + "' file)");
    }

    /** Keys this run trains, in the model's order. */
    public Set<String> trainableKeys() {
        return trainable;
    }

    /** Updates done. */
    public long step() {
        return step;
    }

    /** The loss curve so far. */
    public LossCurve curve() {
        return new LossCurve(points);
    }

    /** Dataset indices held out for evaluation (sorted). */
    public int[] evalIndices() {
        return evalIndices.clone();
    }

    /** Dataset indices trained on (sorted). */
    public int[] trainIndices() {
        return trainIndices.clone();
    }

    /** The float32 master copy of a trainable parameter (a copy). */
    public float[] masterWeights(String key) {
        float[] w = master.get(key);
        if (w == null) {
            throw new CogVideoException("trainer: '" + key + "' is not trainable in this run");
        }
        return w.clone();
    }

    /** Runs to {@link TrainerOptions#steps()}. */
    public Result run() {
        return runUntil(options.steps());
    }

    /**
     * Runs updates until {@code lastStep} (at most {@code options.steps()}); evaluations and checkpoints happen at
     * their intervals and after the run's last update. Stopping early leaves a state that a later call, or a resume
     * from the latest checkpoint, continues.
     */
    public Result runUntil(long lastStep) {
        if (lastStep > options.steps()) {
            throw new CogVideoException("trainer: step " + lastStep + " is beyond the run's " + options.steps()
                    + " steps");
        }
        long t0 = System.nanoTime();
        long tokens = 0;
        long done = 0;
        while (step < lastStep) {
            long t = step + 1;
            List<TrainingExample> rows = batch(t);
            GradientSource.Step s = model.lossAndGradients(rows, trainable);
            if (!Double.isFinite(s.loss())) {
                throw new CogVideoException("trainer: loss at step " + t + " is " + s.loss() + " (diverged; lower the"
                        + " learning rate or check the data)");
            }
            Map<String, float[]> grads = checkGradients(s.gradients(), t);
            double norm = AdamW.clipGlobalNorm(grads, options.clipNorm());
            double lr = schedule.lr(t);
            adam.step(master, grads, lr);
            model.setParameters(Collections.unmodifiableMap(master));
            step = t;
            done++;
            for (TrainingExample r : rows) {
                tokens += r.length();
            }
            double eval = Double.NaN;
            if (evalIndices.length > 0 && (t % options.evalInterval() == 0 || t == options.steps())) {
                eval = evaluate();
                lastEval = eval;
                listener.onEvaluation(t, eval);
            }
            points.add(new LossCurve.Point(t, s.loss(), lr, norm, eval));
            double secs = (System.nanoTime() - t0) / 1e9;
            double eta = secs / done * (options.steps() - t);
            listener.onStep(new TrainingProgress(t, options.steps(), s.loss(), s.perFrameLosses(), lr, norm,
                    secs > 0 ? tokens / secs : 0, Duration.ofNanos((long) (secs * 1e9)),
                    Duration.ofNanos((long) (eta * 1e9)), lastEval));
            boolean periodic = options.checkpointInterval() > 0 && t % options.checkpointInterval() == 0;
            if (periodic || t == options.steps()) {
                writeCheckpoint();
            }
        }
        return new Result(step, curve(), lastEval, lastCheckpoint);
    }

    /** Held-out loss: every held-out example in batches, each batch's loss weighted by its loss-token count. */
    public double evaluate() {
        if (evalIndices.length == 0) {
            return Double.NaN;
        }
        long evalSeed = mix(options.seed(), 0xE7A1L);
        double sum = 0;
        double weight = 0;
        for (int i = 0; i < evalIndices.length; i += options.batchSize()) {
            List<TrainingExample> rows = new ArrayList<>();
            double w = 0;
            for (int j = i; j < Math.min(evalIndices.length, i + options.batchSize()); j++) {
                TrainingExample e = data.example(evalIndices[j], mix(evalSeed, evalIndices[j]));
                rows.add(e);
                w += e.lossTokens();
            }
            sum += model.loss(rows) * w;
            weight += w;
        }
        return weight > 0 ? sum / weight : Double.NaN;
    }

    /** The examples of update {@code t} (1-based). */
    public List<TrainingExample> batch(long t) {
        List<TrainingExample> rows = new ArrayList<>(options.batchSize());
        int n = trainIndices.length;
        for (int j = 0; j < options.batchSize(); j++) {
            long p = (t - 1) * options.batchSize() + j;
            long epoch = p / n;
            int r = (int) (p % n);
            if (epoch != cachedEpoch) {
                cachedPermutation = permutation(n, mix(options.seed(), 0xE90C4L, epoch));
                cachedEpoch = epoch;
            }
            int index = trainIndices[cachedPermutation[r]];
            rows.add(data.example(index, mix(options.seed(), epoch, index)));
        }
        return rows;
    }

    private Map<String, float[]> checkGradients(Map<String, float[]> grads, long t) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String k : trainable) {
            float[] g = grads.get(k);
            if (g == null) {
                throw new CogVideoException("trainer: the gradient source returned no gradient for trainable '" + k
                        + "' at step " + t);
            }
            if (g.length != master.get(k).length) {
                throw new CogVideoException("trainer: gradient of '" + k + "' has " + g.length + " values, the"
                        + " parameter " + master.get(k).length);
            }
            out.put(k, g);
        }
        for (String k : grads.keySet()) {
            if (!trainable.contains(k)) {
                throw new CogVideoException("trainer: the gradient source returned a gradient for frozen '" + k + "'");
            }
        }
        return out;
    }

    /** Writes a checkpoint of the current state now; returns its folder. */
    public Path writeCheckpoint() {
        Path out = options.outputDir();
        String name = String.format(java.util.Locale.ROOT, "checkpoint-%06d", step);
        Path dir = out.resolve(name);
        Path tmp = out.resolve("." + name + ".tmp");
        try {
            Files.createDirectories(out);
            deleteTree(tmp);
            Files.createDirectories(tmp);
            SafetensorsWriter.writeAtomically(tmp.resolve("model_config.json"),
                    JSON.writeValueAsBytes(model.modelConfig()));
            Map<String, SafetensorsWriter.Entry> weights = new LinkedHashMap<>();
            for (Map.Entry<String, int[]> e : model.parameterShapes().entrySet()) {
                float[] v = master.containsKey(e.getKey()) ? master.get(e.getKey()) : model.parameter(e.getKey());
                weights.put(e.getKey(), new SafetensorsWriter.Entry(v, e.getValue()));
            }
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), weights,
                    Map.of("format", "pt", "producer", "cogvideo-java Trainer", "step", Long.toString(step)));
            adam.state().write(tmp.resolve("optimizer.safetensors"));
            SafetensorsWriter.writeAtomically(tmp.resolve(STATE_FILE), JSON.writeValueAsBytes(stateJson()));
            LossCurve curve = curve();
            curve.write(tmp);
            if (Files.exists(dir)) {
                if (!Files.isRegularFile(dir.resolve(STATE_FILE))) {
                    throw new CogVideoException(dir + " exists and is not a training checkpoint; not replacing it");
                }
                deleteTree(dir);
            }
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            SafetensorsWriter.writeAtomically(out.resolve(LATEST), (name + "\n").getBytes(StandardCharsets.UTF_8));
            curve.write(out);
        } catch (IOException e) {
            throw new CogVideoException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
        }
        lastCheckpoint = dir;
        listener.onCheckpoint(step, dir);
        return dir;
    }

    private ObjectNode stateJson() {
        ObjectNode s = JSON.createObjectNode();
        s.put("format", FORMAT);
        s.put("step", step);
        s.put("stage", options.stage());
        s.put("steps", options.steps());
        s.put("batch_size", options.batchSize());
        s.put("seed", options.seed());
        s.put("eval_fraction", options.evalFraction());
        s.put("train_everything", options.trainEverything());
        s.put("lr", options.optimizer().lr());
        s.put("clip_norm", options.clipNorm());
        if (Double.isFinite(lastEval)) {
            s.put("last_eval_loss", lastEval);
        }
        s.putPOJO("trainable", new ArrayList<>(trainable));
        return s;
    }

    private static JsonNode readState(Path dir) {
        try {
            JsonNode n = JSON.readTree(dir.resolve(STATE_FILE).toFile());
            if (!FORMAT.equals(n.path("format").asText())) {
                throw new CogVideoException(dir.resolve(STATE_FILE) + ": format '" + n.path("format").asText()
                        + "' is not '" + FORMAT + "'");
            }
            return n;
        } catch (IOException e) {
            throw new CogVideoException("cannot read " + dir.resolve(STATE_FILE) + ": " + e.getMessage(), e);
        }
    }

    private void checkResumable(JsonNode s, Path dir) {
        requireSame(dir, "stage", s.path("stage").asLong(), options.stage());
        requireSame(dir, "batch_size", s.path("batch_size").asLong(), options.batchSize());
        requireSame(dir, "seed", s.path("seed").asLong(), options.seed());
        requireSame(dir, "train_everything", s.path("train_everything").asBoolean() ? 1 : 0,
                options.trainEverything() ? 1 : 0);
        if (s.path("eval_fraction").asDouble() != options.evalFraction()) {
            throw new CogVideoException(dir + ": the run held out eval_fraction " + s.path("eval_fraction").asDouble()
                    + ", these options " + options.evalFraction() + "; resume needs the same split");
        }
        List<String> keys = new ArrayList<>();
        s.path("trainable").forEach(k -> keys.add(k.asText()));
        if (!keys.equals(new ArrayList<>(trainable))) {
            throw new CogVideoException(dir + ": the run trained " + keys.size() + " keys, this model's trainable set"
                    + " has " + trainable.size() + " (a different model or mode)");
        }
        long st = s.path("step").asLong();
        if (st < 0 || st > options.steps()) {
            throw new CogVideoException(dir + ": checkpoint step " + st + " is beyond the run's " + options.steps()
                    + " steps");
        }
    }

    private static void requireSame(Path dir, String what, long saved, long now) {
        if (saved != now) {
            throw new CogVideoException(dir + ": the run used " + what + " = " + saved + ", these options " + now
                    + "; resume needs the same value");
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    /** A seeded Fisher-Yates permutation of {@code 0..n-1}. */
    static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return p;
    }

    /** Mixes values into one seed (SplittableRandom's 64-bit finaliser, applied in sequence). */
    static long mix(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long x : parts) {
            h = new SplittableRandom(h ^ x).nextLong();
        }
        return h;
    }
}
