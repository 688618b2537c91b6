package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.VqVaeOps;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CPU forward conv2d over blocks of samples ({@link CpuImageOps}) against the former per-sample im2col + GEMM
 * ({@link PerSampleConv2d}): several blocks, a partial last block, a single sample cut into bands, strided
 * asymmetric padding, and 1x1 convolutions on one and several samples, with and without bias.
 */
class CpuConv2dForwardTest {
    private static CpuBackend backend;
    private static VqVaeOps ops;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(new BackendOptions(2, DType.FLOAT32));
        ops = backend.find(VqVaeOps.class).orElseThrow();
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static void check(int n, int c, int h, int w, int o, int kh, int kw, boolean withBias, int stride,
            int pt, int pb, int pl, int pr) {
        Random r = new Random(n * 31 + c * 7 + h + o);
        float[] x = random(r, n * c * h * w);
        float[] wt = random(r, o * c * kh * kw);
        float[] b = withBias ? random(r, o) : null;
        float[] expected = PerSampleConv2d.conv2d(x, new int[] {n, c, h, w}, wt, new int[] {o, c, kh, kw}, b,
                stride, pt, pb, pl, pr);
        int ho = (h + pt + pb - kh) / stride + 1;
        int wo = (w + pl + pr - kw) / stride + 1;
        try (Tensor xt = backend.fromFloats(x, n, c, h, w);
                Tensor wtt = backend.fromFloats(wt, o, c, kh, kw);
                Tensor bt = b == null ? null : backend.fromFloats(b, o);
                Tensor out = ops.conv2d(xt, wtt, bt, stride, pt, pb, pl, pr)) {
            assertThat(out.shape()).containsExactly(n, o, ho, wo);
            float[] got = backend.toFloats(out);
            assertThat(got).hasSameSizeAs(expected);
            double scale = Math.sqrt(c * kh * kw); // |out| ~ sqrt(k) for unit-variance operands
            for (int i = 0; i < got.length; i++) {
                if (Math.abs(got[i] - expected[i]) > 1e-5 * scale) {
                    throw new AssertionError("conv2d " + n + "x" + c + "x" + h + "x" + w + " -> " + o + " k" + kh
                            + "x" + kw + " s" + stride + ": element " + i + " is " + got[i] + ", expected "
                            + expected[i]);
                }
            }
        }
    }

    private static float[] random(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    @Test
    void severalBlocksOfSamplesWithAPartialLastBlock() {
        // 32 * 9 * 48 * 48 columns a sample: 6 samples a block, so 8 samples are a block of 6 and one of 2
        assertThat(CpuImageOps.IM2COL_LIMIT / (32 * 9 * 48 * 48)).isEqualTo(6);
        check(8, 32, 48, 48, 32, 3, 3, true, 1, 1, 1, 1, 1);
        check(7, 16, 12, 12, 24, 3, 3, false, 1, 1, 1, 1, 1);
    }

    @Test
    void aSingleLargeSampleInBands() {
        int c = 16;
        int w = 64;
        int h = CpuImageOps.IM2COL_LIMIT / (9 * c * w) * 2 + 3; // two full bands and a partial one
        check(1, c, h, w, 3, 3, 3, true, 1, 1, 1, 1, 1);
        check(2, c, h, w, 3, 3, 3, false, 1, 1, 1, 1, 1); // one sample a block, each in bands
    }

    @Test
    void stridedAsymmetricPaddingAndPointwise() {
        check(8, 32, 48, 48, 32, 3, 3, true, 2, 0, 1, 0, 1); // the VQ-VAE down-sampling
        check(3, 5, 9, 7, 4, 3, 3, true, 2, 0, 1, 0, 1);
        check(8, 64, 12, 12, 128, 1, 1, true, 1, 0, 0, 0, 0); // 1x1 over a block of samples
        check(1, 64, 12, 12, 32, 1, 1, true, 1, 0, 0, 0, 0); // 1x1 on one sample: a direct GEMM
        check(1, 6, 5, 4, 7, 1, 1, false, 1, 0, 0, 0, 0);
        check(2, 3, 6, 7, 2, 3, 2, false, 1, 2, 0, 1, 3);
    }
}
