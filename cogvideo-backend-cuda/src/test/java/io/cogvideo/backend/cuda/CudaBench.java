package io.cogvideo.backend.cuda;

import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.CogVideoWeights;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.model.WeightSource;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Half;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Cached-step benchmark on a GPU with the figures only this backend can give (not a unit test; it lives with the
 * tests because it reaches into {@link CudaContext}; run it by hand or with the device bundle's {@code run-bench.sh}):
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... io.cogvideo.backend.cuda.CudaBench [layers hidden heads]
 *      [-Dbench.steps=30] [-Dbench.warmup=5] [-Dbench.frames=3] [-Dbench.batches=2,8]
 * </pre>
 *
 * Loads a CogVideo of the given size (default 48 / 3072 / 48, the released 7.7B) with seeded random fp16 weights
 * through the checked SPI, as a checkpoint would be ({@link CogVideoWeights#load}: one tensor generated on the host
 * at a time, then uploaded), prefills text + {@code bench.frames} frames, then times cached steps (one token per
 * sequence, including the logits' copy to the host) at each batch size: median and p90. It also measures the
 * device-to-device copy bandwidth with one big {@code cuMemcpyDtoDAsync} (bytes read + written over time), and
 * reports step time / (weight bytes / bandwidth), the floor a step cannot beat since every weight is read once per
 * step, and the device memory in use at the peak ({@code cuMemGetInfo}; the stream-ordered pool keeps what it took).
 * Prefill and step times on any backend are also what {@code cogvideo bench} prints; the bandwidth floor and the
 * device memory are what this adds.
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
        try (CheckedBackend b = CheckedBackend.wrap(provider.create(new BackendOptions(0, DType.FLOAT16)))) {
            System.out.println(b.description());
            CudaContext ctx = (CudaContext) ((CudaBackend) b.unwrap()).device;
            ctx.loadKernels();
            long[] mem0 = ctx.memInfo();
            double bandwidth = copyBandwidth(ctx);
            System.out.printf(Locale.ROOT, "device-to-device copy: %.1f GB/s (bytes read + written)%n",
                    bandwidth / 1e9);

            CogVideoConfig cfg = new CogVideoConfig(layers, hidden, heads, 150010, 1024, 2000, 64, 400, 5, -1, 1,
                    20000, 1e-5f);
            long t0 = System.nanoTime();
            CogVideoWeights w = CogVideoWeights.load(cfg, new RandomHalfWeights(11), b);
            ctx.sync();
            long weightBytes = stepWeightBytes(cfg);
            System.out.printf(Locale.ROOT, "random fp16 model %d/%d/%d uploaded in %.1f s; "
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
                    try (Tensor logits = model.prefill(s, tokens, pos, new int[] {n - 1})) {
                        b.toFloats(logits);
                    }
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
                    long[] mem = ctx.memInfo();
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
                    mem0[1] / (double) (1L << 30), ctx.peakBytes() / (double) (1L << 30));
            rows.forEach(System.out::println);
        }
    }

    /** Bytes read + written per second by one large device-to-device copy (median of 10 after 2 warm-ups). */
    static double copyBandwidth(CudaContext ctx) {
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

    /**
     * Seeded random float16 weights for any key and shape: LayerNorm weights 1, LayerNorm biases and mix logits 0,
     * everything else about N(0, 0.02) (a table of 65536 half draws indexed by a random stream, so that the 7.7B
     * parameters of the real size take seconds).
     */
    record RandomHalfWeights(long seed) implements WeightSource {
        private static final short[] GAUSSIAN = gaussianTable();

        private static short[] gaussianTable() {
            Random r = new Random(20221);
            short[] t = new short[65536];
            for (int i = 0; i < t.length; i++) {
                t[i] = Half.fromFloat((float) (r.nextGaussian() * 0.02));
            }
            return t;
        }

        @Override
        public TensorData require(String key, int... shape) {
            int n = Math.toIntExact(TensorData.numel(shape));
            boolean norm = key.contains("layernorm");
            boolean one = norm && key.endsWith("weight");
            boolean zero = (norm && key.endsWith("bias")) || key.contains("attn_distribution");
            short fill = Half.fromFloat(one ? 1f : 0f);
            ByteBuffer b = ByteBuffer.allocateDirect(Math.multiplyExact(n, 2)).order(ByteOrder.LITTLE_ENDIAN);
            SplittableRandom r = new SplittableRandom(seed ^ key.hashCode());
            for (int i = 0; i < n; i++) {
                b.putShort(one || zero ? fill : GAUSSIAN[r.nextInt(GAUSSIAN.length)]);
            }
            return new TensorData(key, DType.FLOAT16, shape, b.flip());
        }
    }
}
