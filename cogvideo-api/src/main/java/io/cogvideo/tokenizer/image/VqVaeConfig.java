package io.cogvideo.tokenizer.image;

import java.util.List;

/**
 * The shape of an icetk hierarchical VQ-VAE as read from its checkpoint (nothing is assumed: the real
 * {@code ice_image.pt} gives channels 128, z 256, a 20000-entry codebook and compress rates 4, 8, 16; the golden
 * tiny model 32, 32 and 512).
 *
 * @param inChannels      image channels (3)
 * @param channels        width of the encoder's first conv ({@code enc.conv_in})
 * @param zChannels       width of the encoder output ({@code enc.conv_out})
 * @param embeddingDim    width of a codebook vector ({@code quantize.embed.weight} columns)
 * @param codebookSize    number of codebook entries, i.e. of image token ids
 * @param encoderStride   down-sampling factor of the encoder trunk (2 per strided level)
 * @param downSamplers    number of {@code ResidualDownSample} stages after the trunk ({@code down_samplers.*})
 * @param encodeRates     compress rates that can be encoded, ascending: {@code encoderStride * 2^l} for
 *                        {@code l = 0 .. downSamplers}
 * @param decodeRates     compress rates that have a decoder ({@code decs.*}), ascending
 */
public record VqVaeConfig(int inChannels, int channels, int zChannels, int embeddingDim, int codebookSize,
        int encoderStride, int downSamplers, List<Integer> encodeRates, List<Integer> decodeRates) {

    /** GroupNorm groups of every normalisation layer (fixed in icetk's {@code Normalize}). */
    public static final int GROUPS = 32;
    /** GroupNorm epsilon (fixed in icetk's {@code Normalize}). */
    public static final float NORM_EPS = 1e-6f;
    /** Per-channel (RGB) mean of icetk's pixel normalisation. */
    public static final float[] PIXEL_MEAN = {0.79093f, 0.76271f, 0.75340f};
    /** Per-channel (RGB) standard deviation of icetk's pixel normalisation. */
    public static final float[] PIXEL_STD = {0.30379f, 0.32279f, 0.32800f};

    public VqVaeConfig {
        encodeRates = List.copyOf(encodeRates);
        decodeRates = List.copyOf(decodeRates);
    }

    /** True if images can be both encoded and decoded at {@code rate}. */
    public boolean supports(int rate) {
        return encodeRates.contains(rate) && decodeRates.contains(rate);
    }
}
