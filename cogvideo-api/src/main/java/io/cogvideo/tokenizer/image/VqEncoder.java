package io.cogvideo.tokenizer.image;

import static io.cogvideo.tokenizer.image.VqWeights.step;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.tokenizer.image.VqWeights.Conv;
import io.cogvideo.tokenizer.image.VqWeights.Level;
import io.cogvideo.tokenizer.image.VqWeights.Mid;
import io.cogvideo.tokenizer.image.VqWeights.Norm;

/**
 * icetk's {@code Encoder} ({@code enc.*}): {@code conv_in}, per level ResBlocks (and attention blocks where the
 * checkpoint has them) followed by a stride-2 conv with padding (0, 1, 0, 1) on every level but the last, the
 * middle (ResBlock, attention, ResBlock), {@code norm_out}, swish and {@code conv_out}.
 */
final class VqEncoder {
    final int inChannels;
    final int zChannels;
    final int stride;
    private final Conv convIn;
    private final Level[] levels;
    private final Conv[] downsamples;
    private final Mid mid;
    private final Norm normOut;
    private final Conv convOut;

    VqEncoder(VqWeights w, String p) {
        int[] s = w.shape(p + ".conv_in.weight");
        if (s.length != 4) {
            throw w.error("tensor '" + p + ".conv_in.weight' must be a conv kernel, found rank " + s.length);
        }
        inChannels = s[1];
        convIn = w.conv(p + ".conv_in", inChannels, 1, false);
        int c = convIn.out();
        int n = w.count(p + ".down");
        if (n == 0) {
            throw w.error("no encoder levels ('" + p + ".down.0.*') in the state dict");
        }
        levels = new Level[n];
        downsamples = new Conv[n];
        int f = 1;
        for (int i = 0; i < n; i++) {
            String lp = p + ".down." + i;
            levels[i] = Level.load(w, lp, c);
            c = levels[i].out(c);
            if (w.has(lp + ".downsample.conv.weight")) {
                downsamples[i] = w.conv(lp + ".downsample.conv", c, 2, true);
                if (downsamples[i].out() != c) {
                    throw w.error("'" + lp + ".downsample.conv' changes the width from " + c + " to "
                            + downsamples[i].out());
                }
                f *= 2;
            }
        }
        stride = f;
        mid = Mid.load(w, p + ".mid", c);
        normOut = w.norm(p + ".norm_out", c);
        convOut = w.conv(p + ".conv_out", c, 1, false);
        zChannels = convOut.out();
    }

    /** [N, in, H, W] normalised pixels to [N, z, H / stride, W / stride]. */
    Tensor forward(VqOps be, Tensor x) {
        Tensor h = convIn.apply(be, x);
        for (int i = 0; i < levels.length; i++) {
            h = step(h, x, levels[i].forward(be, h));
            if (downsamples[i] != null) {
                h = step(h, x, downsamples[i].apply(be, h));
            }
        }
        h = step(h, x, mid.forward(be, h));
        h = step(h, x, normOut.applySwish(be, h));
        return step(h, x, convOut.apply(be, h));
    }
}
