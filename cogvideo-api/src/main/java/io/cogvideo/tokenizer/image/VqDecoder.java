package io.cogvideo.tokenizer.image;

import static io.cogvideo.tokenizer.image.VqWeights.step;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.tokenizer.image.VqWeights.Conv;
import io.cogvideo.tokenizer.image.VqWeights.Level;
import io.cogvideo.tokenizer.image.VqWeights.Mid;
import io.cogvideo.tokenizer.image.VqWeights.Norm;

/**
 * icetk's {@code Decoder} ({@code decs.i.*}): {@code conv_in} from the codebook vectors, the middle (ResBlock,
 * attention, ResBlock), then the levels from the deepest ({@code up.(n-1)}) to {@code up.0}, each its ResBlocks
 * (with attention where the checkpoint has it) and, where present, a nearest x2 up-sampling followed by a 3x3 conv;
 * finally {@code norm_out}, swish and {@code conv_out} to pixels (still normalised).
 */
final class VqDecoder {
    final int zChannels;
    final int outChannels;
    /** Spatial up-scaling factor from the token grid to pixels. */
    final int scale;
    private final Conv convIn;
    private final Mid mid;
    private final Level[] levels;
    private final Conv[] upsamples;
    private final Norm normOut;
    private final Conv convOut;

    VqDecoder(VqWeights w, String p) {
        int[] s = w.shape(p + ".conv_in.weight");
        if (s.length != 4) {
            throw w.error("tensor '" + p + ".conv_in.weight' must be a conv kernel, found rank " + s.length);
        }
        zChannels = s[1];
        convIn = w.conv(p + ".conv_in", zChannels, 1, false);
        int c = convIn.out();
        mid = Mid.load(w, p + ".mid", c);
        int n = w.count(p + ".up");
        if (n == 0) {
            throw w.error("no decoder levels ('" + p + ".up.0.*') in the state dict");
        }
        levels = new Level[n];
        upsamples = new Conv[n];
        int f = 1;
        for (int i = n - 1; i >= 0; i--) {
            String lp = p + ".up." + i;
            levels[i] = Level.load(w, lp, c);
            c = levels[i].out(c);
            if (w.has(lp + ".upsample.conv.weight")) {
                upsamples[i] = w.conv(lp + ".upsample.conv", c, c);
                f *= 2;
            }
        }
        scale = f;
        normOut = w.norm(p + ".norm_out", c);
        convOut = w.conv(p + ".conv_out", c, 1, false);
        outChannels = convOut.out();
    }

    /** [N, z, h, w] codebook vectors to [N, out, h * scale, w * scale] normalised pixels. */
    Tensor forward(VqOps be, Tensor z) {
        Tensor h = convIn.apply(be, z);
        h = step(h, z, mid.forward(be, h));
        for (int i = levels.length - 1; i >= 0; i--) {
            h = step(h, z, levels[i].forward(be, h));
            if (upsamples[i] != null) {
                h = step(h, z, be.upsampleNearest2x(h));
                h = step(h, z, upsamples[i].apply(be, h));
            }
        }
        h = step(h, z, normOut.applySwish(be, h));
        return step(h, z, convOut.apply(be, h));
    }
}
