package io.cogvideo.backend.cuda;

import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.Block;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Cached-step benchmark on a GPU (not a unit test; run it by hand):
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... io.cogvideo.backend.cuda.CudaBench [layers hidden heads]
 *      [-Dbench.steps=30] [-Dbench.warmup=5] [-Dbench.frames=3] [-Dbench.batches=2,8]
 * </pre>
 *
 * Builds a random fp16 CogVideo of the given size (default 48 / 3072 / 48, the released 7.7B) directly on the device
 * (no checkpoint, no host copy), prefills text + {@code bench.frames} frames, then times cached steps (one token
 * per sequence, including the logits' copy to the host) at each batch size: median and p90. It also measures the
 * device-to-device copy bandwidth with one big {@code cuMemcpyDtoDAsync} (bytes read + written over time), and
 * reports step time / (weight bytes / bandwidth), the floor a step cannot beat since every weight is read once per
 * step, and the device memory in use at the peak ({@code cuMemGetInfo}; the stream-ordered pool keeps what it took).
 */
public final class CudaBench {
    private CudaBench() {
    }

    public static void main(String[] args) {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 48;
        int hidden = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int heads = args.length > 2 ? Integer.parseInt(args[2]) : 48;
        int steps = Integer.getInteger("bench.steps", 30);
        int warmup = Integer.getInteger("bench.warmup", 5);
        int frames = Integer.getInteger("bench.frames", 3);
        int[] batches = Arrays.stream(System.getProperty("bench.batches", "2,8").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim())).toArray();

        CudaBackendProvider provider = new CudaBackendProvider();
        var a = provider.availability();
        if (!a.available()) {
            System.out.println("CUDA backend not available: " + a.reason());
            System.exit(2);
        }
        try (CudaBackend b = (CudaBackend) provider.create(BackendOptions.defaults())) {
            System.out.println(b.description());
            ((CudaContext) b.device).loadKernels();
            long[] mem0 = ((CudaContext) b.device).memInfo();
            double bandwidth = copyBandwidth(b);
            System.out.printf(Locale.ROOT, "device-to-device copy: %.1f GB/s (bytes read + written)%n",
                    bandwidth / 1e9);

            CogVideoConfig cfg = new CogVideoConfig(layers, hidden, heads, 150010, 1024, 2000, 64, 400, 5, -1, 1,
                    20000, 1e-5f);
            long t0 = System.nanoTime();
            CogVideoWeights w = randomWeights(b, cfg);
            ((CudaContext) b.device).sync();
            long weightBytes = stepWeightBytes(cfg);
            System.out.printf(Locale.ROOT, "random fp16 model %d/%d/%d built on the device in %.1f s; "
                    + "weights read per step: %.2f GB%n", layers, hidden, heads, (System.nanoTime() - t0) / 1e9,
                    weightBytes / 1e9);
            CogVideoModel model = new CogVideoModel(cfg, w, b);
            double floorMs = weightBytes / bandwidth * 1e3;
            long peakUsed = mem0[1] - mem0[0];
            List<String> rows = new ArrayList<>();
            Random rnd = new Random(1);
            int text = 20;
            for (int batch : batches) {
                try (InferenceState s = model.newState(batch, text, SequenceOptions.stage1(1.4f, false))) {
                    int n = text + frames * cfg.frameLength();
                    int[][] tokens = new int[batch][n];
                    for (int[] row : tokens) {
                        for (int i = 0; i < n; i++) {
                            row[i] = rnd.nextInt(cfg.imageVocabSize());
                        }
                    }
                    int[] pos = new int[n];
                    for (int i = 0; i < n; i++) {
                        pos[i] = i < text ? i : CogVideoConfig.FRAME_POSITION_BASE + (i - text);
                    }
                    long p0 = System.nanoTime();
                    b.toFloats(model.prefill(s, tokens, pos, new int[] {n - 1}));
                    double prefillMs = (System.nanoTime() - p0) / 1e6;
                    double[] times = new double[steps];
                    int[] tok = new int[batch];
                    for (int i = 0; i < warmup + steps; i++) {
                        for (int j = 0; j < batch; j++) {
                            tok[j] = rnd.nextInt(cfg.imageVocabSize());
                        }
                        int position = CogVideoConfig.FRAME_POSITION_BASE + frames * cfg.frameLength() + i;
                        long st = System.nanoTime();
                        Tensor logits = model.step(s, tok, position);
                        b.toFloats(logits);
                        logits.close();
                        if (i >= warmup) {
                            times[i - warmup] = (System.nanoTime() - st) / 1e6;
                        }
                    }
                    long[] mem = ((CudaContext) b.device).memInfo();
                    peakUsed = Math.max(peakUsed, mem[1] - mem[0]);
                    Arrays.sort(times);
                    double median = times[times.length / 2];
                    double p90 = times[Math.min(times.length - 1, (int) Math.ceil(times.length * 0.9) - 1)];
                    rows.add(String.format(Locale.ROOT,
                            "batch %2d | prefill %5d tokens %9.1f ms | step median %8.2f ms  p90 %8.2f ms | "
                                    + "step / weight floor %5.2f | device memory in use %.2f GiB", batch, n,
                            prefillMs, median, p90, median / floorMs, (mem[1] - mem[0]) / (double) (1L << 30)));
                }
            }
            w.close();
            System.out.printf(Locale.ROOT, "weight floor (weights / copy bandwidth): %.2f ms per step%n", floorMs);
            System.out.printf(Locale.ROOT, "peak device memory in use (cuMemGetInfo): %.2f GiB of %.2f GiB; "
                    + "backend allocations peak %.2f GiB%n", peakUsed / (double) (1L << 30),
                    mem0[1] / (double) (1L << 30), ((CudaContext) b.device).peakBytes() / (double) (1L << 30));
            rows.forEach(System.out::println);
        }
    }

    /** Bytes read + written per second by one large device-to-device copy (median of 10 after 2 warm-ups). */
    static double copyBandwidth(CudaBackend b) {
        CudaContext ctx = (CudaContext) b.device;
        long[] mem = ctx.memInfo();
        long bytes = Math.min(2L << 30, mem[0] / 4) & ~0xfffL;
        long src = ctx.alloc(bytes);
        long dst = ctx.alloc(bytes);
        long start = ctx.cu.eventCreate();
        long end = ctx.cu.eventCreate();
        try {
            ctx.memsetZero(src, bytes);
            double[] ms = new double[10];
            for (int i = -2; i < ms.length; i++) {
                ctx.cu.eventRecord(start, ctx.stream);
                ctx.copy(dst, src, bytes);
                ctx.cu.eventRecord(end, ctx.stream);
                ctx.cu.eventSynchronize(end);
                if (i >= 0) {
                    ms[i] = ctx.cu.eventElapsedMs(start, end);
                }
            }
            Arrays.sort(ms);
            return 2.0 * bytes / (ms[ms.length / 2] / 1e3);
        } finally {
            ctx.cu.eventDestroy(start);
            ctx.cu.eventDestroy(end);
            ctx.free(src, bytes);
            ctx.free(dst, bytes);
        }
    }

    /** Weight bytes every cached step reads: all linear layers of both channels and the output head (fp16). */
    static long stepWeightBytes(CogVideoConfig c) {
        long h = c.hiddenSize();
        long perLayer = 2 * (3 * h * h) + 2 * (h * h) + 2 * (4 * h * h); // qkv x2, dense x2, MLP in + out
        return 2 * (c.numLayers() * perLayer + (long) c.imageVocabSize() * h);
    }

    private static long seed = 11;

    private static CudaTensor mat(CudaBackend b, int rows, int cols, float scale) {
        return b.uniform(new int[] {rows, cols}, DeviceType.F16, -scale, scale, seed++, true);
    }

    private static CudaTensor vec(CudaBackend b, int n, float lo, float hi) {
        return b.uniform(new int[] {n}, DeviceType.F32, lo, hi, seed++, true);
    }

    static CogVideoWeights randomWeights(CudaBackend b, CogVideoConfig c) {
        int h = c.hiddenSize();
        float s = (float) (1 / Math.sqrt(h));
        float s4 = (float) (1 / Math.sqrt(4.0 * h));
        CudaTensor word = mat(b, c.vocabSize(), h, 0.02f);
        Tensor head = b.slice(word, 0, 0, c.imageVocabSize());
        List<CogVideoWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            layers.add(new CogVideoWeights.Layer(new Block(
                    vec(b, h, 0.9f, 1.1f), vec(b, h, -0.05f, 0.05f),
                    mat(b, 3 * h, h, s), vec(b, 3 * h, -0.02f, 0.02f),
                    mat(b, h, h, s), vec(b, h, -0.02f, 0.02f),
                    vec(b, h, 0.9f, 1.1f), vec(b, h, -0.05f, 0.05f),
                    vec(b, h, 0.9f, 1.1f), vec(b, h, -0.05f, 0.05f),
                    mat(b, 4 * h, h, s), vec(b, 4 * h, -0.02f, 0.02f),
                    mat(b, h, 4 * h, s4), vec(b, h, -0.02f, 0.02f),
                    vec(b, h, 0.9f, 1.1f), vec(b, h, -0.05f, 0.05f)),
                    mat(b, 3 * h, h, s), vec(b, 3 * h, -0.02f, 0.02f),
                    mat(b, h, h, s), vec(b, h, -0.02f, 0.02f),
                    vec(b, h, -1f, 1f)));
        }
        return new CogVideoWeights(word, head, mat(b, c.maxSequenceLength(), h, 0.02f),
                mat(b, c.additionalSeqLen(), h, 0.02f), layers, vec(b, h, 0.9f, 1.1f), vec(b, h, -0.05f, 0.05f));
    }
}
