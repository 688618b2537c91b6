package io.cogvideo.tokenizer.image;

import static io.cogvideo.tokenizer.image.VqWeights.step;

import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import io.cogvideo.tokenizer.image.VqWeights.Conv;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * icetk's hierarchical VQ-VAE ({@code HVQVAE}) on a {@link Backend}, in float32: one shared encoder trunk
 * ({@code enc}), {@code ResidualDownSample} stages ({@code down_samplers}: 2x2 average pooling plus a stride-2 conv
 * with padding (0, 1, 0, 1)), one codebook with a 1x1 pre-projection ({@code quantize.proj},
 * {@code quantize.embed}) shared by all levels, and one decoder per compress rate ({@code decs}).
 *
 * <p>Compress rate {@code r} encodes through the trunk and {@code log2(r / encoderStride)} down-samplers, and decodes
 * with the decoder whose up-sampling factor is {@code r} (in icetk: level {@code l = log2(r) - 2}, decoder
 * {@code decs[2 - l]}). The architecture (widths, levels, attention blocks, which decoders exist) is read from the
 * keys and shapes of the state dict.
 *
 * <p>This class works on normalised NCHW tensors; {@link ImageTokenizer} adds pixel (de)normalisation, image
 * conversion and argument checks. Thread-safe: weights are read-only.
 */
public final class HierarchicalVqVae implements AutoCloseable {
    private final Backend backend;
    private final VqOps ops;
    private final VqVaeConfig config;
    private static final int MAX_DECODERS = 8;
    private final VqEncoder encoder;
    private final Conv[] downSamplers;
    private final Conv proj;
    private final Tensor codebook;
    private final Map<Integer, VqDecoder> decoders;
    private final List<Tensor> weights;

    private HierarchicalVqVae(Backend backend, VqVaeConfig config, VqEncoder encoder, Conv[] downSamplers, Conv proj,
            Tensor codebook, Map<Integer, VqDecoder> decoders, List<Tensor> weights) {
        this.backend = backend;
        this.ops = new VqOps(backend);
        this.config = config;
        this.encoder = encoder;
        this.downSamplers = downSamplers;
        this.proj = proj;
        this.codebook = codebook;
        this.decoders = decoders;
        this.weights = weights;
    }

    /**
     * Builds the model from an icetk state dict ({@code enc.*}, {@code down_samplers.*}, {@code quantize.*},
     * {@code decs.*}), uploading the weights to {@code backend}. EMA buffers ({@code quantize.cluster_size},
     * {@code quantize.embed_avg}) are ignored.
     *
     * @throws io.cogvideo.checkpoint.CheckpointException if a tensor is missing or has an unexpected shape
     */
    public static HierarchicalVqVae load(StateDict sd, Backend backend) {
        new VqOps(backend); // fail before reading any weight if the backend cannot run the VQ-VAE
        VqWeights w = new VqWeights(sd, backend);
        // A decode-only checkpoint (decoders and codebook, no 'enc.*') can decode but not encode.
        boolean hasEncoder = w.has("enc.conv_in.weight");
        VqEncoder enc = hasEncoder ? new VqEncoder(w, "enc") : null;
        int rgb = VqVaeConfig.PIXEL_MEAN.length;
        if (enc != null && enc.inChannels != rgb) {
            throw w.error("the encoder takes " + enc.inChannels + " channels; RGB (3) is expected");
        }

        int[] es = w.shape("quantize.embed.weight");
        if (es.length != 2) {
            throw w.error("tensor 'quantize.embed.weight' has shape " + Arrays.toString(es) + "; [K, D] is expected");
        }
        int k = es[0];
        int d = es[1];
        Conv proj = null;
        if (enc == null) {
            proj = null;
        } else if (w.has("quantize.proj.weight")) {
            proj = w.conv("quantize.proj", enc.zChannels, d);
        } else if (enc.zChannels != d) {
            throw w.error("the encoder gives " + enc.zChannels + " channels, the codebook has " + d
                    + " and there is no quantize.proj");
        }
        Tensor codebook = w.upload("quantize.embed.weight", k, d);

        int nd = enc == null ? 0 : w.count("down_samplers");
        Conv[] down = new Conv[nd];
        for (int i = 0; i < nd; i++) {
            down[i] = w.conv("down_samplers." + i + ".conv_down_sampler.conv", enc.zChannels, 2, true);
            if (down[i].out() != enc.zChannels) {
                throw w.error("'down_samplers." + i + "' changes the width from " + enc.zChannels + " to "
                        + down[i].out());
            }
        }
        List<Integer> encodeRates = new ArrayList<>();
        for (int l = 0; enc != null && l <= nd; l++) {
            encodeRates.add(enc.stride << l);
        }

        Map<Integer, VqDecoder> decoders = new TreeMap<>();
        // decoders are numbered by level; a decode-only checkpoint may keep only some (e.g. decs.1 for rate 8)
        for (int i = 0; i < MAX_DECODERS; i++) {
            if (!w.hasModule("decs." + i)) {
                continue;
            }
            VqDecoder dec = new VqDecoder(w, "decs." + i);
            if (dec.zChannels != d) {
                throw w.error("decoder 'decs." + i + "' takes " + dec.zChannels + " channels but codebook vectors have "
                        + d);
            }
            if (dec.outChannels != rgb) {
                throw w.error("decoder 'decs." + i + "' gives " + dec.outChannels + " channels, not " + rgb);
            }
            if (decoders.put(dec.scale, dec) != null) {
                throw w.error("two decoders up-sample by " + dec.scale);
            }
        }
        if (decoders.isEmpty()) {
            throw w.error("no decoder ('decs.<level>.*') in the state dict");
        }
        VqVaeConfig config = new VqVaeConfig(rgb, enc == null ? 0 : w.shape("enc.conv_in.weight")[0],
                enc == null ? d : enc.zChannels, d, k, enc == null ? 0 : enc.stride, nd, encodeRates,
                List.copyOf(decoders.keySet()));
        return new HierarchicalVqVae(backend, config, enc, down, proj, codebook, decoders, List.copyOf(w.uploaded));
    }

    /** The architecture read from the checkpoint. */
    public VqVaeConfig config() {
        return config;
    }

    /** The backend the weights live on. */
    public Backend backend() {
        return backend;
    }

    /** Number of codebook entries (image token ids are {@code 0 .. codebookSize - 1}). */
    public int codebookSize() {
        return config.codebookSize();
    }

    /**
     * Encodes normalised images to token ids: the trunk, the down-samplers for {@code rate}, {@code quantize.proj}
     * and the nearest codebook entry by squared L2 distance (ties: lowest index).
     *
     * @param x    [N, 3, H, W], normalised with {@link VqVaeConfig#PIXEL_MEAN} / {@link VqVaeConfig#PIXEL_STD}
     * @param rate one of {@link VqVaeConfig#encodeRates()}
     * @return {@code N * h * w} ids, each image's grid row-major, with {@code h = floor(H / rate)} (likewise w)
     * @throws IllegalArgumentException if the rate is not supported
     */
    public int[] encode(Tensor x, int rate) {
        int levels = encodeLevels(rate);
        try (TensorScope scope = TensorScope.open()) {
            Tensor h = encoder.forward(ops, x);
            for (int i = 0; i < levels; i++) {
                Tensor pooled = ops.avgPool2x2(h);
                Tensor conv = downSamplers[i].apply(ops, h);
                Tensor sum = ops.add(pooled, conv);
                pooled.close();
                conv.close();
                h = step(h, x, sum);
            }
            if (proj != null) {
                h = step(h, x, proj.apply(ops, h));
            }
            return ops.codebookNearest(h, codebook);
        }
    }

    /** Token grid height/width produced by {@link #encode} for an input of the given size. */
    public int gridSize(int pixels, int rate) {
        int levels = encodeLevels(rate);
        int s = pixels;
        for (int i = 1; i < encoder.stride; i *= 2) {
            s /= 2;
        }
        for (int i = 0; i < levels; i++) {
            s /= 2;
        }
        return s;
    }

    private int encodeLevels(int rate) {
        if (encoder == null) {
            throw new IllegalArgumentException("this VQ-VAE checkpoint holds decoders only (no 'enc.*' tensors): it "
                    + "cannot encode images");
        }
        int l = config.encodeRates().indexOf(rate);
        if (l < 0) {
            throw new IllegalArgumentException("compress rate " + rate + " is not supported for encoding; this"
                    + " model supports " + config.encodeRates());
        }
        return l;
    }

    /**
     * Decodes token grids to normalised images (not de-normalised, not clamped).
     *
     * @param ids    {@code batch * height * width} ids in {@code [0, codebookSize)}, each grid row-major
     * @param rate   one of {@link VqVaeConfig#decodeRates()}
     * @return [batch, 3, height * rate, width * rate]
     * @throws IllegalArgumentException if the rate is not supported or an id is outside the codebook
     */
    public Tensor decode(int[] ids, int batch, int height, int width, int rate) {
        VqDecoder dec = decoders.get(rate);
        if (dec == null) {
            throw new IllegalArgumentException("compress rate " + rate + " is not supported for decoding; this"
                    + " model has decoders for " + config.decodeRates());
        }
        if (batch < 1 || height < 1 || width < 1 || (long) batch * height * width != ids.length) {
            throw new IllegalArgumentException(ids.length + " token ids do not fill " + batch + " grids of "
                    + height + "x" + width);
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.codebookSize()) {
                throw new IllegalArgumentException("token id " + ids[i] + " at index " + i
                        + " is outside the codebook [0, " + config.codebookSize() + ")");
            }
        }
        try (TensorScope scope = TensorScope.open()) {
            Tensor z = ops.codebookLookup(codebook, ids, batch, height, width);
            return scope.keep(dec.forward(ops, z));
        }
    }

    /** Releases the uploaded weights; the model cannot be used afterwards. The backend stays open. */
    @Override
    public void close() {
        for (Tensor t : weights) {
            t.close();
        }
    }
}
