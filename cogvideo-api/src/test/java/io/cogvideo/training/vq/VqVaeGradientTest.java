package io.cogvideo.training.vq;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.testkit.ReferenceBackend;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Finite differences of the whole model's loss against the backward tape, for parameters in every part of the model
 * (encoder trunk, down-sampler, projection, decoder, norms, attention).
 */
class VqVaeGradientTest {
    private static final int N = 1;
    private static final int SIDE = 16;
    private static final List<String> KEYS = List.of("enc.conv_in.weight", "enc.down.0.block.0.norm1.weight",
            "enc.down.2.block.0.nin_shortcut.weight", "enc.mid.attn_1.q.weight", "enc.mid.attn_1.v.bias",
            "enc.conv_out.bias", "down_samplers.0.conv_down_sampler.conv.weight", "quantize.proj.weight",
            "decs.1.conv_in.weight", "decs.1.mid.attn_1.k.weight", "decs.1.up.3.upsample.conv.weight",
            "decs.1.up.2.block.0.norm2.bias", "decs.1.conv_out.weight");
    private CheckedBackend backend;
    private float[] x;

    @BeforeEach
    void open() {
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
        ShapeImages world = new ShapeImages(SIDE);
        float[] rgb = new float[N * 3 * SIDE * SIDE];
        for (int i = 0; i < N; i++) {
            System.arraycopy(world.image(i * 5, 3 + i), 0, rgb, i * 3 * SIDE * SIDE, 3 * SIDE * SIDE);
        }
        x = VqVaeModel.normalise(rgb, N, SIDE, SIDE);
    }

    @AfterEach
    void close() {
        backend.close();
    }

    private Map<String, float[]> grads(VqVaeModel m, double beta, boolean quantise) {
        Map<String, float[]> g = new LinkedHashMap<>();
        m.parameters().forEach((k, v) -> g.put(k, new float[v.length]));
        m.pass(backend, x, N, SIDE, SIDE, beta, g, quantise);
        return g;
    }

    private double loss(VqVaeModel m, double beta, boolean quantise, boolean commitmentOnly) {
        VqVaeModel.Pass p = m.pass(backend, x, N, SIDE, SIDE, beta, null, quantise);
        return commitmentOnly ? p.commitmentMse() : p.reconstructionMse() + beta * p.commitmentMse();
    }

    /** Central difference at the entry of {@code key} with the largest analytic gradient. */
    private void check(VqVaeModel m, Map<String, float[]> g, String key, double beta, boolean quantise,
            boolean commitmentOnly, Map<String, float[]> subtract) {
        float[] gk = g.get(key);
        int best = 0;
        for (int i = 0; i < gk.length; i++) {
            if (Math.abs(gk[i]) > Math.abs(gk[best])) {
                best = i;
            }
        }
        double analytic = gk[best] - (subtract == null ? 0 : subtract.get(key)[best]);
        float[] p = m.parameters().get(key);
        float orig = p[best];
        float h = 1e-2f * Math.max(0.05f, Math.abs(orig));
        p[best] = orig + h;
        double up = loss(m, beta, quantise, commitmentOnly);
        p[best] = orig - h;
        double down = loss(m, beta, quantise, commitmentOnly);
        p[best] = orig;
        double fd = (up - down) / (2 * h) * (commitmentOnly ? beta : 1);
        assertThat(Math.abs(analytic)).as("gradient of %s is not negligible", key).isGreaterThan(1e-5);
        assertThat(Math.abs(fd - analytic)).as("%s[%d]: finite difference %g, backward %g", key, best, fd, analytic)
                .isLessThan(0.03 * Math.abs(analytic) + 2e-5);
    }

    @Test
    void wholeModelGradientsWithoutQuantisation() {
        VqVaeModel m = VqVaeModel.initialise(VqVaeModelTest.SMALL, 21);
        Map<String, float[]> g = grads(m, 0.25, false);
        for (String key : KEYS) {
            check(m, g, key, 0.25, false, false, null);
        }
    }

    @Test
    void decoderGradientsAndCommitmentWithTheCodebook() {
        VqVaeModel m = VqVaeModelTest.modelWithDataCodebook(backend, x, N, SIDE);
        double beta = 0.25;
        Map<String, float[]> g = grads(m, beta, true);
        // the decoder sees fixed codes: its gradient is the true one
        for (String key : KEYS.subList(8, KEYS.size())) {
            check(m, g, key, beta, true, false, null);
        }
        // the encoder gets the straight-through gradient plus beta * d(commitment): the difference of the two betas
        Map<String, float[]> g0 = grads(m, 0, true);
        for (String key : KEYS.subList(0, 8)) {
            if (key.contains("attn_1.q")) {
                continue; // its commitment gradient is ~1e-6 at initialisation: below what float32 differences resolve
            }
            check(m, g, key, beta, true, true, g0);
        }
    }
}
