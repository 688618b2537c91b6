package io.cogvideo.tokenizer.image;

import io.cogvideo.checkpoint.CheckpointException;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.WeightUse;
import io.cogvideo.spi.TensorData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads the VQ-VAE's tensors out of a state dict with shape checks and uploads them to a backend. The
 * architecture is discovered from which keys exist and from their shapes; every tensor is then required to have
 * exactly the shape the discovered architecture implies.
 */
final class VqWeights {
    final StateDict sd;
    final Backend backend;
    /** Every tensor uploaded so far, so the model can release them. */
    final List<Tensor> uploaded = new ArrayList<>();

    VqWeights(StateDict sd, Backend backend) {
        this.sd = sd;
        this.backend = backend;
    }

    CheckpointException error(String problem) {
        return new CheckpointException(sd.source(), problem);
    }

    boolean has(String key) {
        return sd.contains(key);
    }

    /** True if some key starts with {@code prefix + "."}. */
    boolean hasModule(String prefix) {
        String p = prefix + ".";
        for (String k : sd.keys()) {
            if (k.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    /** Number of consecutive children {@code prefix.0, prefix.1, ...} present. */
    int count(String prefix) {
        int n = 0;
        while (hasModule(prefix + "." + n)) {
            n++;
        }
        return n;
    }

    /** The stored shape of {@code key} (which must exist). */
    int[] shape(String key) {
        return sd.get(key).shape();
    }

    Tensor upload(String key, int... shape) {
        TensorData t = sd.require(key, shape);
        Tensor up = backend.upload(t, WeightUse.GENERAL);
        uploaded.add(up);
        return up;
    }

    /** A convolution {@code prefix.weight [out, in, k, k]}, {@code prefix.bias [out]}. */
    Conv conv(String prefix, int in, int stride, boolean downsamplePadding) {
        int[] s = shape(prefix + ".weight");
        if (s.length != 4 || s[1] != in || s[2] != s[3]) {
            throw error("tensor '" + prefix + ".weight' has shape " + Arrays.toString(s) + " but a square conv kernel"
                    + " [out, " + in + ", k, k] is expected");
        }
        int out = s[0];
        int k = s[2];
        Tensor w = upload(prefix + ".weight", out, in, k, k);
        Tensor b = upload(prefix + ".bias", out);
        if (downsamplePadding) {
            return new Conv(w, b, in, out, stride, 0, 1, 0, 1);
        }
        int pad = (k - 1) / 2;
        return new Conv(w, b, in, out, stride, pad, pad, pad, pad);
    }

    /** A convolution whose output width is known. */
    Conv conv(String prefix, int in, int out) {
        Conv c = conv(prefix, in, 1, false);
        if (c.out() != out) {
            throw error("tensor '" + prefix + ".weight' has " + c.out() + " output channels but " + out
                    + " are expected");
        }
        return c;
    }

    /** GroupNorm affine parameters over {@code channels}. */
    Norm norm(String prefix, int channels) {
        if (channels % VqVaeConfig.GROUPS != 0) {
            throw error("'" + prefix + "' normalises " + channels + " channels, which do not split into "
                    + VqVaeConfig.GROUPS + " groups");
        }
        return new Norm(upload(prefix + ".weight", channels), upload(prefix + ".bias", channels));
    }

    // ------------------------------------------------------------------ building blocks

    /** A conv with its (possibly asymmetric) zero padding. */
    record Conv(Tensor weight, Tensor bias, int in, int out, int stride, int padTop, int padBottom, int padLeft,
            int padRight) {
        Tensor apply(VqOps be, Tensor x) {
            return be.conv2d(x, weight, bias, stride, padTop, padBottom, padLeft, padRight);
        }
    }

    /** GroupNorm(32, eps 1e-6) parameters. */
    record Norm(Tensor gamma, Tensor beta) {
        Tensor apply(VqOps be, Tensor x) {
            return be.groupNorm(x, VqVaeConfig.GROUPS, gamma, beta, VqVaeConfig.NORM_EPS);
        }

        Tensor applySwish(VqOps be, Tensor x) {
            return be.groupNormSwish(x, VqVaeConfig.GROUPS, gamma, beta, VqVaeConfig.NORM_EPS);
        }
    }

    /**
     * icetk's {@code ResnetBlock}: {@code norm1, swish, conv1, norm2, swish, conv2} plus the input, passed through a
     * shortcut conv (1x1 {@code nin_shortcut}, or 3x3 {@code conv_shortcut}) when the width changes.
     */
    record ResBlock(Norm norm1, Conv conv1, Norm norm2, Conv conv2, Conv shortcut) {
        static ResBlock load(VqWeights w, String p, int in) {
            Norm n1 = w.norm(p + ".norm1", in);
            Conv c1 = w.conv(p + ".conv1", in, 1, false);
            int out = c1.out();
            Norm n2 = w.norm(p + ".norm2", out);
            Conv c2 = w.conv(p + ".conv2", out, out);
            Conv sc = null;
            if (w.has(p + ".nin_shortcut.weight")) {
                sc = w.conv(p + ".nin_shortcut", in, out);
            } else if (w.has(p + ".conv_shortcut.weight")) {
                sc = w.conv(p + ".conv_shortcut", in, out);
            } else if (in != out) {
                throw w.error("'" + p + "' changes the width from " + in + " to " + out
                        + " but has no nin_shortcut or conv_shortcut");
            }
            return new ResBlock(n1, c1, n2, c2, sc);
        }

        int out() {
            return conv1.out();
        }

        Tensor forward(VqOps be, Tensor x) {
            Tensor a = norm1.applySwish(be, x);
            Tensor h = conv1.apply(be, a);
            a.close();
            a = norm2.applySwish(be, h);
            h.close();
            h = conv2.apply(be, a);
            a.close();
            if (shortcut == null) {
                Tensor y = be.add(x, h);
                h.close();
                return y;
            }
            Tensor s = shortcut.apply(be, x);
            Tensor y = be.add(s, h);
            s.close();
            h.close();
            return y;
        }
    }

    /** icetk's {@code AttnBlock}: single-head attention over positions with 1x1-conv q, k, v and output. */
    record AttnBlock(Norm norm, Conv q, Conv k, Conv v, Conv proj) {
        static AttnBlock load(VqWeights w, String p, int c) {
            return new AttnBlock(w.norm(p + ".norm", c), w.conv(p + ".q", c, c), w.conv(p + ".k", c, c),
                    w.conv(p + ".v", c, c), w.conv(p + ".proj_out", c, c));
        }

        Tensor forward(VqOps be, Tensor x) {
            Tensor h = norm.apply(be, x);
            Tensor qt = q.apply(be, h);
            Tensor kt = k.apply(be, h);
            Tensor vt = v.apply(be, h);
            h.close();
            Tensor a = be.spatialAttention(qt, kt, vt);
            qt.close();
            kt.close();
            vt.close();
            Tensor o = proj.apply(be, a);
            a.close();
            Tensor y = be.add(x, o);
            o.close();
            return y;
        }
    }

    /** One resolution level: ResBlocks, each optionally followed by an attention block. */
    record Level(ResBlock[] blocks, AttnBlock[] attns) {
        static Level load(VqWeights w, String p, int in) {
            int nb = w.count(p + ".block");
            int na = w.count(p + ".attn");
            if (na != 0 && na != nb) {
                throw w.error("'" + p + "' has " + nb + " blocks but " + na + " attention blocks");
            }
            ResBlock[] blocks = new ResBlock[nb];
            AttnBlock[] attns = new AttnBlock[na];
            int c = in;
            for (int i = 0; i < nb; i++) {
                blocks[i] = ResBlock.load(w, p + ".block." + i, c);
                c = blocks[i].out();
                if (na > 0) {
                    attns[i] = AttnBlock.load(w, p + ".attn." + i, c);
                }
            }
            return new Level(blocks, attns);
        }

        int out(int in) {
            return blocks.length == 0 ? in : blocks[blocks.length - 1].out();
        }

        Tensor forward(VqOps be, Tensor x) {
            Tensor h = x;
            for (int i = 0; i < blocks.length; i++) {
                h = step(h, x, blocks[i].forward(be, h));
                if (attns.length > 0) {
                    h = step(h, x, attns[i].forward(be, h));
                }
            }
            return h;
        }
    }

    /** The middle of an encoder or decoder: ResBlock, attention, ResBlock. */
    record Mid(ResBlock block1, AttnBlock attn, ResBlock block2) {
        static Mid load(VqWeights w, String p, int c) {
            ResBlock b1 = ResBlock.load(w, p + ".block_1", c);
            if (b1.out() != c) {
                throw w.error("'" + p + ".block_1' changes the width from " + c + " to " + b1.out());
            }
            AttnBlock a = AttnBlock.load(w, p + ".attn_1", c);
            ResBlock b2 = ResBlock.load(w, p + ".block_2", c);
            if (b2.out() != c) {
                throw w.error("'" + p + ".block_2' changes the width from " + c + " to " + b2.out());
            }
            return new Mid(b1, a, b2);
        }

        Tensor forward(VqOps be, Tensor x) {
            Tensor h = step(x, x, block1.forward(be, x));
            h = step(h, x, attn.forward(be, h));
            return step(h, x, block2.forward(be, h));
        }
    }

    /** Returns {@code next}, closing {@code previous} unless it is the caller's {@code input}. */
    static Tensor step(Tensor previous, Tensor input, Tensor next) {
        if (previous != input && previous != next) {
            previous.close();
        }
        return next;
    }
}
