package io.cogvideo.training.vq;

import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import io.cogvideo.spi.VqVaeOps;
import io.cogvideo.spi.VqVaeTrainingOps;
import io.cogvideo.tokenizer.image.VqVaeConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A trainable icetk VQ-VAE for one compress rate ({@link VqArchitecture}): parameters as named float32 host arrays
 * with icetk's key names, and the codebook {@code quantize.embed.weight [K, D]} (updated by the trainer's EMA, not by
 * the optimizer). Forward passes run through {@link VqVaeOps}, backward passes through {@link VqVaeTrainingOps}.
 * Not thread-safe.
 */
public final class VqVaeModel {
    /** Key of the codebook [K, D]. */
    public static final String CODEBOOK = "quantize.embed.weight";
    /** The decoder's key prefix (icetk's {@code decs[1]}: compress rate 8 is level 1). */
    public static final String DECODER = "decs.1";

    private final VqArchitecture arch;
    private final Map<String, float[]> params = new LinkedHashMap<>();
    private final Map<String, int[]> shapes = new LinkedHashMap<>();
    private float[] codebook;

    private VqVaeModel(VqArchitecture arch) {
        this.arch = arch;
        declare();
        codebook = new float[arch.codebookSize() * arch.embeddingDim()];
    }

    /**
     * A freshly initialised model: convolutions as PyTorch's default ({@code U(-1/sqrt(fan_in), 1/sqrt(fan_in))} for
     * weight and bias), GroupNorm scale 1 and shift 0, codebook {@code U(-1/K, 1/K)} (the trainer replaces it with
     * encoder outputs before the first step).
     */
    public static VqVaeModel initialise(VqArchitecture arch, long seed) {
        VqVaeModel m = new VqVaeModel(arch);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Map.Entry<String, float[]> e : m.params.entrySet()) {
            String k = e.getKey();
            float[] v = e.getValue();
            if (k.contains("norm")) {
                if (k.endsWith(".weight")) {
                    java.util.Arrays.fill(v, 1f);
                }
                continue;
            }
            int[] ws = m.shapes.get(k.substring(0, k.lastIndexOf('.')) + ".weight");
            double bound = 1 / Math.sqrt(ws[1] * ws[2] * ws[3]);
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
        }
        for (int i = 0; i < m.codebook.length; i++) {
            m.codebook[i] = (float) ((rnd.nextDouble() * 2 - 1) / arch.codebookSize());
        }
        return m;
    }

    /**
     * A model holding the tensors of a state dict written by {@link VqVaeTrainer} (icetk key names; any float dtype).
     *
     * @throws io.cogvideo.checkpoint.CheckpointException if a tensor is missing or has another shape
     */
    public static VqVaeModel fromStateDict(VqArchitecture arch, StateDict sd) {
        VqVaeModel m = new VqVaeModel(arch);
        for (Map.Entry<String, float[]> e : m.params.entrySet()) {
            float[] v = sd.require(e.getKey(), m.shapes.get(e.getKey())).toFloatArray();
            System.arraycopy(v, 0, e.getValue(), 0, v.length);
        }
        m.codebook = sd.require(CODEBOOK, arch.codebookSize(), arch.embeddingDim()).toFloatArray();
        return m;
    }

    private void conv(String name, int out, int in, int k) {
        shapes.put(name + ".weight", new int[] {out, in, k, k});
        shapes.put(name + ".bias", new int[] {out});
    }

    private void norm(String name, int c) {
        shapes.put(name + ".weight", new int[] {c});
        shapes.put(name + ".bias", new int[] {c});
    }

    private void resBlock(String p, int in, int out) {
        norm(p + ".norm1", in);
        conv(p + ".conv1", out, in, 3);
        norm(p + ".norm2", out);
        conv(p + ".conv2", out, out, 3);
        if (in != out) {
            conv(p + ".nin_shortcut", out, in, 1);
        }
    }

    private void mid(String p, int c) {
        resBlock(p + ".block_1", c, c);
        norm(p + ".attn_1.norm", c);
        for (String n : new String[] {"q", "k", "v", "proj_out"}) {
            conv(p + ".attn_1." + n, c, c, 1);
        }
        resBlock(p + ".block_2", c, c);
    }

    /** Registers every parameter in icetk's module order. */
    private void declare() {
        int ch = arch.channels();
        List<Integer> em = arch.encoderMult();
        conv("enc.conv_in", ch, 3, 3);
        int c = ch;
        for (int i = 0; i < em.size(); i++) {
            int out = ch * em.get(i);
            for (int b = 0; b < arch.encoderResBlocks(); b++) {
                resBlock("enc.down." + i + ".block." + b, c, out);
                c = out;
            }
            if (i != em.size() - 1) {
                conv("enc.down." + i + ".downsample.conv", c, c, 3);
            }
        }
        mid("enc.mid", c);
        norm("enc.norm_out", c);
        conv("enc.conv_out", arch.zChannels(), c, 3);
        conv("down_samplers.0.conv_down_sampler.conv", arch.zChannels(), arch.zChannels(), 3);
        conv("quantize.proj", arch.embeddingDim(), arch.zChannels(), 1);
        List<Integer> dm = arch.decoderMult();
        c = ch * dm.get(dm.size() - 1);
        conv(DECODER + ".conv_in", c, arch.embeddingDim(), 3);
        mid(DECODER + ".mid", c);
        for (int i = dm.size() - 1; i >= 0; i--) {
            int out = ch * dm.get(i);
            resBlock(DECODER + ".up." + i + ".block.0", c, out);
            c = out;
            if (i != 0) {
                conv(DECODER + ".up." + i + ".upsample.conv", c, c, 3);
            }
        }
        norm(DECODER + ".norm_out", c);
        conv(DECODER + ".conv_out", 3, c, 3);
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            int n = 1;
            for (int d : e.getValue()) {
                n *= d;
            }
            params.put(e.getKey(), new float[n]);
        }
    }

    /** The architecture. */
    public VqArchitecture architecture() {
        return arch;
    }

    /** The trainable parameters by icetk key, in module order (live arrays: the optimizer updates them in place). */
    public Map<String, float[]> parameters() {
        return params;
    }

    /** The shape of parameter {@code key}. */
    public int[] shape(String key) {
        return shapes.get(key).clone();
    }

    /** The codebook [K, D] (live array). */
    public float[] codebook() {
        return codebook;
    }

    /** Replaces the codebook [K, D]. */
    public void setCodebook(float[] values) {
        if (values.length != codebook.length) {
            throw new IllegalArgumentException("codebook has " + values.length + " values; " + codebook.length
                    + " (K * D) are expected");
        }
        codebook = values.clone();
    }

    /** Total number of trainable parameters (the codebook excluded). */
    public long parameterCount() {
        long n = 0;
        for (float[] v : params.values()) {
            n += v.length;
        }
        return n;
    }

    /** A deep copy. */
    public VqVaeModel copy() {
        VqVaeModel m = new VqVaeModel(arch);
        params.forEach((k, v) -> System.arraycopy(v, 0, m.params.get(k), 0, v.length));
        m.codebook = codebook.clone();
        return m;
    }

    // ---------------------------------------------------------------- passes

    /** What one pass of the whole model computed (host arrays). */
    record Pass(float[] ze, float[] reconstruction, int[] ids, int gridH, int gridW, double reconstructionMse,
            double commitmentMse) {
    }

    Map<String, Tensor> uploadParameters(Backend backend) {
        Map<String, Tensor> up = new LinkedHashMap<>();
        params.forEach((k, v) -> up.put(k, backend.fromFloats(v, shapes.get(k))));
        return up;
    }

    /** Encoder trunk, down-sampler and {@code quantize.proj}: [N, 3, H, W] to [N, D, H / r, W / r]. */
    Tensor encode(VqGraph g, Tensor x) {
        List<Integer> em = arch.encoderMult();
        Tensor h = g.conv(x, "enc.conv_in", 1, false, false);
        int ch = arch.channels();
        int c = ch;
        for (int i = 0; i < em.size(); i++) {
            for (int b = 0; b < arch.encoderResBlocks(); b++) {
                int out = ch * em.get(i);
                h = g.resBlock(h, "enc.down." + i + ".block." + b, c != out);
                c = out;
            }
            if (i != em.size() - 1) {
                h = g.conv(h, "enc.down." + i + ".downsample.conv", 2, true, true);
            }
        }
        h = g.mid(h, "enc.mid");
        h = g.conv(g.swish(g.norm(h, "enc.norm_out")), "enc.conv_out");
        h = g.add(g.avgPool(h), g.conv(h, "down_samplers.0.conv_down_sampler.conv", 2, true, true));
        return g.conv(h, "quantize.proj");
    }

    /** Decoder {@code decs.1}: [N, D, h, w] codebook vectors to [N, 3, h * r, w * r] normalised pixels. */
    Tensor decode(VqGraph g, Tensor z) {
        List<Integer> dm = arch.decoderMult();
        int ch = arch.channels();
        int c = ch * dm.get(dm.size() - 1);
        Tensor h = g.conv(z, DECODER + ".conv_in");
        h = g.mid(h, DECODER + ".mid");
        for (int i = dm.size() - 1; i >= 0; i--) {
            int out = ch * dm.get(i);
            h = g.resBlock(h, DECODER + ".up." + i + ".block.0", c != out);
            c = out;
            if (i != 0) {
                h = g.conv(g.upsample(h), DECODER + ".up." + i + ".upsample.conv");
            }
        }
        return g.conv(g.swish(g.norm(h, DECODER + ".norm_out")), DECODER + ".conv_out");
    }

    /**
     * Encodes normalised images to token ids (as {@code HierarchicalVqVae.encode} at this model's rate).
     *
     * @param x [N, 3, H, W] normalised pixels, H and W multiples of the compress rate
     * @return N * (H / r) * (W / r) ids, each image's grid row-major
     */
    public int[] encodeIds(Backend backend, float[] x, int n, int height, int width) {
        VqVaeOps ops = OpPacks.require(backend, VqVaeOps.class, "the VQ-VAE forward");
        try (TensorScope scope = TensorScope.open()) {
            VqGraph g = new VqGraph(backend, ops, null, uploadParameters(backend), shapes, null);
            Tensor ze = encode(g, backend.fromFloats(x, n, 3, height, width));
            Tensor cb = backend.fromFloats(codebook, arch.codebookSize(), arch.embeddingDim());
            return ops.codebookNearest(ze, cb);
        }
    }

    /**
     * Decodes token grids to normalised pixels (as {@code HierarchicalVqVae.decode}).
     *
     * @return [N, 3, h * r, w * r]
     */
    public float[] decodeIds(Backend backend, int[] ids, int n, int gridH, int gridW) {
        VqVaeOps ops = OpPacks.require(backend, VqVaeOps.class, "the VQ-VAE forward");
        try (TensorScope scope = TensorScope.open()) {
            VqGraph g = new VqGraph(backend, ops, null, uploadParameters(backend), shapes, null);
            Tensor cb = backend.fromFloats(codebook, arch.codebookSize(), arch.embeddingDim());
            Tensor z = ops.codebookLookup(cb, ids, n, gridH, gridW);
            return backend.toFloats(decode(g, z));
        }
    }

    /**
     * One pass of the whole model on normalised images: encode, quantise to the nearest code, decode; with
     * {@code grads != null} also the backward of {@code loss = mse(reconstruction, x) + beta * mse(ze, sg(e))} with
     * the straight-through estimator, adding the parameter gradients into {@code grads} (zeroed arrays by key).
     *
     * @param x [N, 3, H, W] normalised pixels
     */
    Pass pass(Backend backend, float[] x, int n, int height, int width, double beta, Map<String, float[]> grads) {
        return pass(backend, x, n, height, width, beta, grads, true);
    }

    /**
     * {@link #pass}; with {@code quantise} false the decoder gets the encoder output itself (no codebook, no
     * commitment term), which makes the whole model differentiable for gradient checks of the straight-through path.
     */
    Pass pass(Backend backend, float[] x, int n, int height, int width, double beta, Map<String, float[]> grads,
            boolean quantise) {
        VqVaeOps ops = OpPacks.require(backend, VqVaeOps.class, "the VQ-VAE forward");
        VqVaeTrainingOps tops = grads == null ? null
                : OpPacks.require(backend, VqVaeTrainingOps.class, "training the VQ-VAE");
        int r = arch.compressRate();
        if (height % r != 0 || width % r != 0) {
            throw new IllegalArgumentException("image " + height + "x" + width + " is not a multiple of the compress "
                    + "rate " + r);
        }
        int gh = height / r;
        int gw = width / r;
        int d = arch.embeddingDim();
        try (TensorScope scope = TensorScope.open()) {
            VqGraph g = new VqGraph(backend, ops, tops, uploadParameters(backend), shapes, grads);
            Tensor xt = backend.fromFloats(x, n, 3, height, width);
            Tensor ze = encode(g, xt);
            float[] zeHost = backend.toFloats(ze); // [N, D, h, w]
            Tensor cb = backend.fromFloats(codebook, arch.codebookSize(), d);
            int[] ids = ops.codebookNearest(ze, cb);
            int hw = gh * gw;
            float[] zq = new float[zeHost.length];
            float[] dCommit = new float[zeHost.length];
            double commit = 0;
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < hw; p++) {
                    int id = ids[b * hw + p];
                    for (int c = 0; c < d; c++) {
                        int i = (b * d + c) * hw + p;
                        float q = quantise ? codebook[id * d + c] : zeHost[i];
                        zq[i] = q;
                        double diff = zeHost[i] - q;
                        commit += diff * diff;
                        dCommit[i] = (float) (2 * beta * diff / zeHost.length);
                    }
                }
            }
            commit /= zeHost.length;
            Tensor zqt = backend.fromFloats(zq, n, d, gh, gw);
            // straight-through: the decoder's input gradient goes to ze, plus the commitment term
            g.onBackward(() -> {
                Tensor dzq = g.gradient(zqt);
                Tensor dc = backend.fromFloats(dCommit, n, d, gh, gw);
                g.accumulate(ze, dzq == null ? dc : backend.add(dzq, dc));
            });
            Tensor rec = decode(g, zqt);
            float[] recHost = backend.toFloats(rec);
            double mse = 0;
            float[] dRec = new float[recHost.length];
            for (int i = 0; i < recHost.length; i++) {
                double diff = recHost[i] - x[i];
                mse += diff * diff;
                dRec[i] = (float) (2 * diff / recHost.length);
            }
            mse /= recHost.length;
            if (grads != null) {
                g.backward(rec, backend.fromFloats(dRec, n, 3, height, width));
            }
            return new Pass(zeHost, recHost, ids, gh, gw, mse, commit);
        }
    }

    /** Normalises [N, 3, H, W] pixels in [0, 1] with icetk's mean and std. */
    public static float[] normalise(float[] rgb, int n, int height, int width) {
        float[] out = new float[rgb.length];
        int plane = height * width;
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < 3; c++) {
                float mean = VqVaeConfig.PIXEL_MEAN[c];
                float std = VqVaeConfig.PIXEL_STD[c];
                int o = (b * 3 + c) * plane;
                for (int i = 0; i < plane; i++) {
                    out[o + i] = (rgb[o + i] - mean) / std;
                }
            }
        }
        return out;
    }

    /** Inverse of {@link #normalise}, clamped to [0, 1]. */
    public static float[] denormalise(float[] x, int n, int height, int width) {
        float[] out = new float[x.length];
        int plane = height * width;
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < 3; c++) {
                float mean = VqVaeConfig.PIXEL_MEAN[c];
                float std = VqVaeConfig.PIXEL_STD[c];
                int o = (b * 3 + c) * plane;
                for (int i = 0; i < plane; i++) {
                    out[o + i] = Math.min(1f, Math.max(0f, x[o + i] * std + mean));
                }
            }
        }
        return out;
    }
}
