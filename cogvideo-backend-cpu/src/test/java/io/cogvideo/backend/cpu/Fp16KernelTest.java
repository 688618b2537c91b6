package io.cogvideo.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.Half;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The float16 kernels: exact widening, and the table and intrinsic versions agree bit for bit with float32. */
class Fp16KernelTest {
    @Test
    void everyHalfWidensExactly() throws Exception {
        Fp16.Kernel table = new Fp16Table();
        Fp16.Kernel intrinsic = intrinsic();
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        float[] a = new float[all.length];
        float[] b = new float[all.length];
        table.toFloats(all, 0, a, 0, all.length);
        intrinsic.toFloats(all, 0, b, 0, all.length);
        for (int i = 0; i < all.length; i++) {
            float ref = Half.toFloat((short) i);
            assertThat(Float.floatToRawIntBits(a[i])).as("table 0x%04x", i).isEqualTo(Float.floatToRawIntBits(ref));
            if (!Float.isNaN(ref)) {
                assertThat(Float.floatToRawIntBits(b[i])).as("intrinsic 0x%04x", i)
                        .isEqualTo(Float.floatToRawIntBits(ref));
            }
        }
        assertThat(Fp16.VECTORIZED).as("Java %s picks the intrinsic kernels", Runtime.version())
                .isEqualTo(Runtime.version().feature() >= 21);
    }

    @Test
    void linearMatchesFloat32BitForBit() throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        for (int[] dims : new int[][] {{1, 64, 48}, {3, 130, 700}, {16, 257, 1030}, {2, 3, 5}}) {
            int rows = dims[0];
            int in = dims[1];
            int out = dims[2];
            float[] x = new float[rows * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            short[] wh = new short[in * out];
            float[] wf = new float[in * out];
            for (int i = 0; i < wh.length; i++) {
                wh[i] = Half.fromFloat((float) (r.nextGaussian() * 0.05));
                wf[i] = Half.toFloat(wh[i]);
            }
            float[] ref = new float[rows * out];
            JavaKernels.linearTChunk(x, rows, in, wf, out, ref, 0, out);
            double naive = 0;
            for (int i = 0; i < in; i++) {
                naive += (double) x[(rows - 1) * in + i] * wf[i * out + out - 1];
            }
            assertThat((double) ref[rows * out - 1]).isCloseTo(naive, org.assertj.core.data.Offset.offset(1e-4));
            for (Fp16.Kernel k : new Fp16.Kernel[] {new Fp16Table(), intrinsic()}) {
                float[] y = new float[rows * out];
                k.linearTChunk(x, rows, in, wh, out, y, 0, out);
                assertThat(y).as("%s %dx%dx%d", k.getClass().getSimpleName(), rows, in, out).containsExactly(ref);
            }
        }
    }

    private static Fp16.Kernel intrinsic() throws Exception {
        return (Fp16.Kernel) Class.forName("io.cogvideo.backend.cpu.Fp16Intrinsic").getDeclaredConstructor()
                .newInstance();
    }
}
