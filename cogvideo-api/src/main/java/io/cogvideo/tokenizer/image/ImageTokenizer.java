package io.cogvideo.tokenizer.image;

import io.cogvideo.checkpoint.ReadLimits;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.checkpoint.TorchCheckpointReader;
import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Objects;

/**
 * icetk's image tokenizer: pictures to image token ids and back, with the hierarchical VQ-VAE of
 * {@code ice_image.pt} ({@link HierarchicalVqVae}) on a {@link Backend}, in float32.
 *
 * <p>Compress rate {@code r} (4, 8 or 16 for the real model; CogVideo uses {@value #COGVIDEO_COMPRESS_RATE}) maps an
 * {@code S x S} picture to an {@code (S/r) x (S/r)} token grid, stored row-major. Pixels are normalised with
 * icetk's mean/std ({@link VqVaeConfig#PIXEL_MEAN}, {@link VqVaeConfig#PIXEL_STD}) before encoding and
 * de-normalised after decoding; values are clamped to [0, 1] only when converted to 8-bit pixels.
 *
 * <p>Thread-safe (the weights are read-only); each call runs on the calling thread.
 */
public final class ImageTokenizer implements AutoCloseable {
    /** The compress rate CogVideo uses: 160x160 frames to 20x20 tokens. */
    public static final int COGVIDEO_COMPRESS_RATE = 8;

    private final HierarchicalVqVae model;

    /** Wraps an already loaded model. */
    public ImageTokenizer(HierarchicalVqVae model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    /**
     * Loads {@code ice_image.pt} (a {@code torch.save} zip holding {@code {'module': state_dict}}) with the project's
     * safe checkpoint reader (no pickle code is executed) and uploads the weights to {@code backend}. The architecture
     * is read from the tensor names and shapes.
     *
     * @throws io.cogvideo.checkpoint.CheckpointException if the file cannot be read or a tensor is missing or has an
     *                                                   unexpected shape
     */
    public static ImageTokenizer load(Path icePt, Backend backend) {
        boolean safetensors = icePt.getFileName() != null && icePt.getFileName().toString().endsWith(".safetensors");
        try (StateDict sd = safetensors ? io.cogvideo.checkpoint.SafetensorsReader.read(icePt)
                : TorchCheckpointReader.readModule(icePt)) {
            return new ImageTokenizer(HierarchicalVqVae.load(sd, backend));
        }
    }

    /** The underlying model. */
    public HierarchicalVqVae model() {
        return model;
    }

    /** The architecture read from the checkpoint (codebook size, supported compress rates...). */
    public VqVaeConfig config() {
        return model.config();
    }

    /** Number of image tokens (codebook entries). */
    public int codebookSize() {
        return model.codebookSize();
    }

    // ------------------------------------------------------------------ encoding

    /**
     * Encodes a picture at its own resolution, center-cropped to a square of its shorter side (icetk's
     * {@code Resize(s) + CenterCrop(s)} with {@code s = min(width, height)}, where the resize is the identity).
     *
     * @return {@code (s / rate)^2} token ids, row-major
     * @throws IllegalArgumentException if the rate is not supported or the picture is smaller than {@code rate}
     */
    public int[] encode(BufferedImage img, int compressRate) {
        Objects.requireNonNull(img, "img");
        return encode(img, Math.min(img.getWidth(), img.getHeight()), compressRate);
    }

    /**
     * Encodes a picture as icetk's {@code encode(image_pil=..., image_size=size, compress_rate=rate)}: the picture is
     * resized so that its shorter side is {@code imageSize} and the longer {@code int(imageSize * long / short)}
     * (torchvision's {@code Resize(size)}), center-cropped to {@code imageSize x imageSize} (torchvision's
     * {@code CenterCrop}, offsets rounded half to even as Python does), scaled to [0, 1], normalised and encoded.
     *
     * <p><b>Resampling filter.</b> Separable bilinear (triangle) interpolation with pixel centres at {@code i + 0.5};
     * when shrinking, the filter is widened by the scale factor (anti-aliasing) and the taps inside the picture are
     * renormalised at the borders. This is the filter of PIL's {@code BILINEAR} and of torchvision's
     * {@code Resize(antialias=True)} (the default since torchvision 0.17). Both passes run in double precision and
     * the result is rounded once to 8 bits, so a value can differ by one 8-bit level from PIL (which rounds after each
     * pass, with fixed-point weights) or torch's uint8 kernel. icetk resizes the uint8 tensor made by
     * {@code pil_to_tensor}; with torchvision before 0.17 that tensor resize did not anti-alias, so when shrinking by
     * more than 2x the original blended only the two nearest pixels per axis, where this filter averages every
     * covered pixel (less aliasing). Enlarging is the same in both (plain bilinear, {@code align_corners=False}).
     * No resampling happens when the shorter side already is {@code imageSize}.
     *
     * @return {@code (imageSize / rate)^2} token ids, row-major (CogVideo: size 160, rate 8, 400 ids)
     * @throws IllegalArgumentException if the picture or {@code imageSize} is empty, the rate is not supported, or
     *                                  {@code imageSize} is smaller than the rate
     */
    public int[] encode(BufferedImage img, int imageSize, int compressRate) {
        Objects.requireNonNull(img, "img");
        int w = img.getWidth();
        int h = img.getHeight();
        if (w <= 0 || h <= 0) {
            throw new IllegalArgumentException("image of size " + w + "x" + h + " is empty");
        }
        if (imageSize <= 0) {
            throw new IllegalArgumentException("image size " + imageSize + " must be positive");
        }
        checkEncodeRate(compressRate);
        checkPixels("picture to resize", (long) w * h, ReadLimits.defaults().imagePixels(), "imagePixels");
        checkPixels("image to encode", (long) imageSize * imageSize, ReadLimits.defaults().codecPixels(),
                "codecPixels");
        int[][] planes = ImagePreprocessing.rgbPlanes(img);
        int[] wh = new int[2];
        planes = ImagePreprocessing.resizeShorterSide(planes, w, h, imageSize, wh);
        planes = ImagePreprocessing.centerCrop(planes, wh[0], wh[1], imageSize);
        return encodeNormalized(ImagePreprocessing.normalize8(planes), 1, imageSize, imageSize, compressRate);
    }

    /**
     * Encodes images given as float pixel values in [0, 1] (as icetk's {@code encode(image_torch=...)}; they are
     * normalised here).
     *
     * @param rgb    [batch, 3, height, width], row-major
     * @return {@code batch * gh * gw} ids, each image's grid row-major, {@code gh = height / rate} (likewise gw)
     * @throws IllegalArgumentException if a size is not positive, the array length does not match, the rate is not
     *                                  supported or the image is smaller than the rate
     */
    public int[] encodePixels(float[] rgb, int batch, int height, int width, int compressRate) {
        Objects.requireNonNull(rgb, "rgb");
        if (batch <= 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image batch " + batch + " of size " + width + "x" + height
                    + " is empty");
        }
        checkPixels("images to encode", (long) batch * height * width, ReadLimits.defaults().codecPixels(),
                "codecPixels");
        if ((long) batch * 3 * height * width != rgb.length) {
            throw new IllegalArgumentException(rgb.length + " values do not make " + batch + " RGB images of "
                    + width + "x" + height);
        }
        checkEncodeRate(compressRate);
        return encodeNormalized(ImagePreprocessing.normalize(rgb, batch, height * width), batch, height, width,
                compressRate);
    }

    /** Refuses work above a pixel budget before anything is allocated for it. */
    private static void checkPixels(String what, long pixels, long limit, String limitName) {
        if (pixels > limit) {
            throw new IllegalArgumentException(what + ": " + pixels + " pixels, more than the limit of " + limit
                    + " (-D" + ReadLimits.PROPERTY_PREFIX + limitName + ")");
        }
    }

    private void checkEncodeRate(int rate) {
        if (!model.config().encodeRates().contains(rate)) {
            throw new IllegalArgumentException("compress rate " + rate + " is not supported; this model encodes at "
                    + model.config().encodeRates());
        }
    }

    private int[] encodeNormalized(float[] x, int batch, int height, int width, int rate) {
        if (model.gridSize(height, rate) < 1 || model.gridSize(width, rate) < 1) {
            throw new IllegalArgumentException("image of size " + width + "x" + height
                    + " is too small for compress rate " + rate);
        }
        Backend be = model.backend();
        Tensor t = be.fromFloats(x, batch, 3, height, width);
        try {
            return model.encode(t, rate);
        } finally {
            t.close();
        }
    }

    // ------------------------------------------------------------------ decoding

    /**
     * Decodes square token grids to pixel values (de-normalised, not clamped).
     *
     * @param tokens {@code batch * s * s} ids in {@code [0, codebookSize)}, each grid row-major
     * @return [batch, 3, s * rate, s * rate], row-major
     * @throws IllegalArgumentException if an id is outside the codebook, the grids are not square, or the rate is
     *                                  not supported
     */
    public float[] decodePixels(int[] tokens, int batch, int compressRate) {
        Objects.requireNonNull(tokens, "tokens");
        if (batch <= 0) {
            throw new IllegalArgumentException("batch " + batch + " must be positive");
        }
        if (!model.config().decodeRates().contains(compressRate)) {
            throw new IllegalArgumentException("compress rate " + compressRate + " is not supported; this model"
                    + " decodes at " + model.config().decodeRates());
        }
        if (tokens.length == 0 || tokens.length % batch != 0) {
            throw new IllegalArgumentException(tokens.length + " tokens do not split into " + batch + " grids");
        }
        int per = tokens.length / batch;
        int s = (int) Math.round(Math.sqrt(per));
        if ((long) s * s != per) {
            throw new IllegalArgumentException(per + " tokens per image do not form a square grid");
        }
        checkPixels(batch + " token grid(s) of " + s + " x " + s + " to decode at rate " + compressRate,
                (long) batch * ((long) s * compressRate) * ((long) s * compressRate), ReadLimits.defaults().codecPixels(),
                "codecPixels");
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= codebookSize()) {
                throw new IllegalArgumentException("token id " + tokens[i] + " at index " + i
                        + " is outside the codebook [0, " + codebookSize() + ")");
            }
        }
        Backend be = model.backend();
        float[] out;
        try (Tensor t = model.decode(tokens, batch, s, s, compressRate)) {
            out = be.toFloats(t);
        }
        int side = s * compressRate;
        ImagePreprocessing.denormalizeInPlace(out, batch, side * side);
        return out;
    }

    /**
     * Decodes one square token grid to an RGB picture of {@code (s * rate)^2} pixels, clamping to [0, 1] and
     * rounding to 8 bits as {@code torchvision.utils.save_image} without its min-max normalisation.
     *
     * @throws IllegalArgumentException if an id is outside the codebook, the grid is not square, or the rate is not
     *                                  supported
     */
    public BufferedImage decode(int[] tokens, int compressRate) {
        float[] px = decodePixels(tokens, 1, compressRate);
        int side = (int) Math.round(Math.sqrt(px.length / 3.0));
        return ImagePreprocessing.toImage(px, 0, side, side);
    }

    /**
     * The decoder the generation pipeline uses, at {@code compressRate}.
     *
     * @throws IllegalArgumentException if the rate is not supported
     */
    public ImageDecoder decoder(int compressRate) {
        if (!model.config().decodeRates().contains(compressRate)) {
            throw new IllegalArgumentException("compress rate " + compressRate + " is not supported; this model"
                    + " decodes at " + model.config().decodeRates());
        }
        return tokens -> decode(tokens, compressRate);
    }

    /** The decoder at CogVideo's compress rate {@value #COGVIDEO_COMPRESS_RATE}. */
    public ImageDecoder imageDecoder() {
        return decoder(COGVIDEO_COMPRESS_RATE);
    }

    /** Releases the model's weights (the backend stays open). */
    @Override
    public void close() {
        model.close();
    }
}
