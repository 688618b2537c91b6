package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.model.DsrConfig;
import io.cogvideo.model.DsrModel;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.LocalAttentionSpec;
import io.cogvideo.spi.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CogView2 direct super-resolution against the original implementation (golden {@code dsr-tiny-a}, directory from
 * {@code -Dcogvideo.golden.dsr}), and the local-attention operation against a naive loop over its definition.
 * Run by every backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DsrParityKit {
    public static final double TOL = 1e-3;
    protected Backend backend;
    private GoldenSet golden;

    protected abstract Backend newBackend();

    @BeforeAll
    void setUp() {
        backend = CheckedBackend.wrap(newBackend());
        golden = GoldenSet.fromProperty("cogvideo.golden.dsr", "dsr-tiny-a");
    }

    @AfterAll
    void tearDown() {
        backend.close();
    }

    @Test
    void uncachedForwardMatchesTheOriginal() {
        DsrModel model = DsrModel.load(golden.dir().resolve("checkpoint"), backend);
        DsrConfig c = model.config();
        JsonNode m = golden.manifest();
        int[] ids = golden.npy("dsr_input_ids.npy").ints();
        int[] pos = golden.npy("dsr_position_ids.npy").ints();
        int[] rows = golden.npy("dsr_positions.npy").ints();
        float[] subset = golden.npy("dsr_logits_subset.npy").floats();
        float[] fp = golden.npy("dsr_fingerprint.npy").floats();
        int[] probes = GoldenSet.ints(m.get("probe_vocab_ids"));
        int nPad = m.get("n_pad").asInt();
        assertThat(ids).hasSize(c.sequenceLength());
        assertThat(pos).containsExactly(c.positions(nPad));
        int vocab = c.imageVocabSize();
        int width = 2 + probes.length;
        try (Tensor hidden = model.forward(new int[][] {ids}, pos, nPad)) {
            int chunk = 512;
            for (int from = 0; from < ids.length; from += chunk) {
                int count = Math.min(chunk, ids.length - from);
                float[] l;
                try (Tensor t = model.logits(hidden, from, count)) {
                    l = backend.toFloats(t);
                }
                for (int r = 0; r < count; r++) {
                    int i = from + r;
                    int off = r * vocab;
                    String what = "DSR position " + i;
                    assertThat(Math.abs(Fingerprint.logSumExp(l, off, vocab) - fp[i * width])).as(what + " logsumexp")
                            .isLessThanOrEqualTo(TOL);
                    for (int p = 0; p < probes.length; p++) {
                        assertThat((double) Math.abs(l[off + probes[p]] - fp[i * width + 1 + p]))
                                .as(what + " probe " + probes[p]).isLessThanOrEqualTo(TOL);
                    }
                    int am = Math.round(fp[i * width + 1 + probes.length]);
                    assertThat(Fingerprint.argmaxAgrees(l, off, vocab, am, TOL)).as(what + " argmax").isTrue();
                    for (int s = 0; s < rows.length; s++) {
                        if (rows[s] == i) {
                            double worst = 0;
                            for (int j = 0; j < vocab; j++) {
                                worst = Math.max(worst, Math.abs(l[off + j] - subset[s * vocab + j]));
                            }
                            assertThat(worst).as(what + " full logits").isLessThanOrEqualTo(TOL);
                        }
                    }
                }
            }
        }
    }

    /** Local attention against a direct loop over its definition (grids with factor 1 and 3, both kernels). */
    @ParameterizedTest
    @CsvSource({"6, 6, 3, 3, 3, 5, 2", "12, 4, 9, 5, 5, 5, 3", "9, 3, 5, 3, 1, 1, 1"})
    void localAttentionMatchesNaiveLoop(int fine, int coarse, int fkh, int fkw, int ckh, int ckw, int heads) {
        int d = 4;
        int width = heads * d;
        int batch = 2;
        int n = fine * fine;
        int nc = coarse * coarse;
        SplittableRandom r = new SplittableRandom(fine * 31L + coarse);
        float[] q = rand(r, batch * n * width);
        float[] kf = rand(r, batch * n * width);
        float[] vf = rand(r, batch * n * width);
        float[] kc = rand(r, batch * nc * width);
        float[] vc = rand(r, batch * nc * width);
        LocalAttentionSpec spec = new LocalAttentionSpec(heads, fine, coarse, fkh, fkw, ckh, ckw, 0.25f);
        float[] got = backend.toFloats(OpPacks.require(backend, LocalAttention.class, "the test").localAttention(backend.fromFloats(q, batch, n, width),
                backend.fromFloats(kf, batch, n, width), backend.fromFloats(vf, batch, n, width),
                backend.fromFloats(kc, batch, nc, width), backend.fromFloats(vc, batch, nc, width), spec));
        double worst = 0;
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < fine; i++) {
                for (int j = 0; j < fine; j++) {
                    for (int h = 0; h < heads; h++) {
                        // scores in the original's order: coarse neighbourhood row-major, then fine
                        double[] s = new double[ckh * ckw + fkh * fkw];
                        double[][] vals = new double[s.length][];
                        int cnt = 0;
                        int ci = i * coarse / fine;
                        int cj = j * coarse / fine;
                        for (int a = 0; a < ckh; a++) {
                            for (int e = 0; e < ckw; e++) {
                                int rr = ci - ckh / 2 + a;
                                int cc = cj - ckw / 2 + e;
                                if (rr < 0 || rr >= coarse || cc < 0 || cc >= coarse) {
                                    continue;
                                }
                                int ko = ((b * nc) + rr * coarse + cc) * width + h * d;
                                s[cnt] = dot(q, ((b * n) + i * fine + j) * width + h * d, kc, ko, d) / Math.sqrt(d) + 0.25;
                                vals[cnt++] = slice(vc, ko, d);
                            }
                        }
                        for (int a = 0; a < fkh; a++) {
                            for (int e = 0; e < fkw; e++) {
                                int rr = i - fkh / 2 + a;
                                int cc = j - fkw / 2 + e;
                                if (rr < 0 || rr >= fine || cc < 0 || cc >= fine) {
                                    continue;
                                }
                                int ko = ((b * n) + rr * fine + cc) * width + h * d;
                                s[cnt] = dot(q, ((b * n) + i * fine + j) * width + h * d, kf, ko, d) / Math.sqrt(d);
                                vals[cnt++] = slice(vf, ko, d);
                            }
                        }
                        double max = Double.NEGATIVE_INFINITY;
                        for (int t = 0; t < cnt; t++) {
                            max = Math.max(max, s[t]);
                        }
                        double sum = 0;
                        for (int t = 0; t < cnt; t++) {
                            sum += Math.exp(s[t] - max);
                        }
                        for (int e = 0; e < d; e++) {
                            double o = 0;
                            for (int t = 0; t < cnt; t++) {
                                o += Math.exp(s[t] - max) / sum * vals[t][e];
                            }
                            int oo = ((b * n) + i * fine + j) * width + h * d + e;
                            worst = Math.max(worst, Math.abs(o - got[oo]));
                        }
                    }
                }
            }
        }
        assertThat(worst).isLessThan(1e-5);
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static double dot(float[] a, int ao, float[] b, int bo, int d) {
        double s = 0;
        for (int i = 0; i < d; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    private static double[] slice(float[] a, int o, int d) {
        double[] s = new double[d];
        for (int i = 0; i < d; i++) {
            s[i] = a[o + i];
        }
        return s;
    }
}
