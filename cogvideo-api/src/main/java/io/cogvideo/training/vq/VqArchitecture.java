package io.cogvideo.training.vq;

import java.util.List;

/**
 * The shape of a trainable icetk VQ-VAE for one compress rate: the encoder trunk ({@code enc.*}, icetk's
 * {@code Encoder}), one {@code ResidualDownSample} ({@code down_samplers.0}), the 1x1 {@code quantize.proj}, the
 * codebook {@code quantize.embed} and the decoder {@code decs.1} (icetk's {@code Decoder}). Every level of the encoder
 * but the last halves the resolution, the down-sampler halves it once more, so the compress rate is
 * {@code 2^(encoderMult.size())}; the decoder up-samples on every level but level 0, by
 * {@code 2^(decoderMult.size() - 1)}, which must equal the compress rate.
 *
 * @param channels         base width ({@code enc.conv_in} output), a multiple of 32 (GroupNorm(32))
 * @param zChannels        encoder output width ({@code enc.conv_out}), a multiple of 32
 * @param embeddingDim     codebook vector width D
 * @param codebookSize     number of codebook entries K
 * @param encoderMult      width multipliers of the encoder levels (icetk's {@code channels_mult})
 * @param encoderResBlocks ResBlocks per encoder level (icetk's {@code num_res_blocks})
 * @param decoderMult      width multipliers of the decoder levels
 */
public record VqArchitecture(int channels, int zChannels, int embeddingDim, int codebookSize,
        List<Integer> encoderMult, int encoderResBlocks, List<Integer> decoderMult) {

    public VqArchitecture {
        encoderMult = List.copyOf(encoderMult);
        decoderMult = List.copyOf(decoderMult);
        if (channels < 32 || channels % 32 != 0) {
            throw new IllegalArgumentException("channels = " + channels + "; allowed: a positive multiple of 32");
        }
        if (zChannels < 32 || zChannels % 32 != 0) {
            throw new IllegalArgumentException("zChannels = " + zChannels + "; allowed: a positive multiple of 32");
        }
        if (embeddingDim < 1) {
            throw new IllegalArgumentException("embeddingDim = " + embeddingDim + "; allowed: >= 1");
        }
        if (codebookSize < 2) {
            throw new IllegalArgumentException("codebookSize = " + codebookSize + "; allowed: >= 2");
        }
        if (encoderMult.size() < 1 || encoderMult.size() > 4) {
            throw new IllegalArgumentException("encoderMult has " + encoderMult.size() + " levels; allowed: 1..4");
        }
        if (encoderResBlocks < 1 || encoderResBlocks > 4) {
            throw new IllegalArgumentException("encoderResBlocks = " + encoderResBlocks + "; allowed: 1..4");
        }
        for (int m : encoderMult) {
            if (m < 1 || m > 8) {
                throw new IllegalArgumentException("encoder multiplier " + m + "; allowed: 1..8");
            }
        }
        for (int m : decoderMult) {
            if (m < 1 || m > 8) {
                throw new IllegalArgumentException("decoder multiplier " + m + "; allowed: 1..8");
            }
        }
        if (1 << (decoderMult.size() - 1) != 1 << encoderMult.size()) {
            throw new IllegalArgumentException("the encoder (" + encoderMult.size() + " levels + 1 down-sampler) "
                    + "compresses by " + (1 << encoderMult.size()) + " but the decoder (" + decoderMult.size()
                    + " levels) up-samples by " + (1 << (decoderMult.size() - 1)) + "; they must match");
        }
    }

    /**
     * The demo's VQ-VAE: width 32, z 32, D 32, K 512; icetk's encoder with {@code channels_mult [1, 1, 2]} and one
     * ResBlock per level (icetk: {@code [1, 2, 4]} and two; the narrower, shallower trunk cuts the encoder's cost
     * from about 415 to about 185 MFLOP per 48 x 48 crop on this 2-core machine), and icetk's rate-8 decoder
     * {@code channels_mult [1, 1, 2, 4]} with one ResBlock per level, as icetk's.
     */
    public static VqArchitecture demo() {
        return new VqArchitecture(32, 32, 32, 512, List.of(1, 1, 2), 1, List.of(1, 1, 2, 4));
    }

    /** The compress rate: pixels per token along each axis. */
    public int compressRate() {
        return 1 << encoderMult.size();
    }
}
