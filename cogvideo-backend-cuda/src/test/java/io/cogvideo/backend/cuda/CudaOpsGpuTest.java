package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.Half;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.WeightUse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every backend operation on the device against host references, through the checked SPI (the backends are wrapped
 * in {@link CheckedBackend}, as {@code Backends.create} does).
 */
@ExtendWith(RequiresCuda.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaOpsGpuTest {
    private CheckedBackend fp16;
    private CheckedBackend fp32;
    private final Random r = new Random(System.nanoTime());

    @BeforeAll
    void setUp() {
        fp16 = CheckedBackend.wrap(new CudaBackendProvider().create(BackendOptions.defaults()));
        fp32 = CheckedBackend.wrap(new CudaBackendProvider().create(new BackendOptions(0, DType.FLOAT32)));
    }

    @AfterAll
    void tearDown() {
        if (fp16 != null) {
            fp16.close();
        }
        if (fp32 != null) {
            fp32.close();
        }
    }

    private static TensorData data(String name, DType type, float[] values, boolean direct, int... shape) {
        ByteBuffer b = (direct ? ByteBuffer.allocateDirect(values.length * type.byteSize())
                : ByteBuffer.allocate(values.length * type.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (type) {
                case FLOAT32 -> b.putFloat(v);
                case FLOAT16 -> b.putShort(Half.fromFloat(v));
                case BFLOAT16 -> b.putShort((short) (Float.floatToRawIntBits(Reference.bf16(v)) >>> 16));
                case FLOAT64 -> b.putDouble(v);
                default -> throw new IllegalArgumentException();
            }
        }
        b.flip();
        return new TensorData(name, type, shape, b);
    }

    @Test
    void uploadsKeepOrRoundValuesAsDocumented() {
        float[] w = Reference.gaussian(r, 300 * 7, 1.0);
        for (DType src : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16, DType.FLOAT64}) {
            for (boolean direct : new boolean[] {false, true}) {
                TensorData d = data("w", src, w, direct, 300, 7);
                float[] exact = d.toFloatArray();
                try (Tensor t16 = fp16.upload(d, WeightUse.LINEAR); Tensor t32 = fp32.upload(d, WeightUse.GENERAL);
                        Tensor bias = fp16.upload(data("b", src, w, direct, w.length), WeightUse.GENERAL)) {
                    assertThat(t16.dtype()).isEqualTo(DType.FLOAT16);
                    assertThat(t32.dtype()).isEqualTo(DType.FLOAT32);
                    assertThat(bias.dtype()).as("rank-1 weights stay float32").isEqualTo(DType.FLOAT32);
                    assertThat(fp32.toFloats(t32)).as(src + " into fp32").containsExactly(exact);
                    assertThat(fp16.toFloats(bias)).containsExactly(exact);
                    assertThat(fp16.toFloats(t16)).as(src + " into fp16").containsExactly(
                            Reference.round(exact, DeviceType.F16));
                }
            }
        }
    }

    @Test
    void linearInEachWeightType() {
        int rows = 37;
        int in = 96;
        int out = 50;
        float[] x = Reference.gaussian(r, 2 * rows * in, 1.0);
        float[] w = Reference.gaussian(r, out * in, 0.1);
        float[] b = Reference.gaussian(r, out, 1.0);
        for (CheckedBackend be : new CheckedBackend[] {fp32, fp16}) {
            DeviceType t = ((CudaBackend) be.unwrap()).weightType;
            float[] xr = Reference.round(x, t);
            float[] wr = Reference.round(w, t);
            float[] ref = new float[2 * rows * out];
            for (int i = 0; i < 2 * rows; i++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int j = 0; j < in; j++) {
                        s += (double) xr[i * in + j] * wr[o * in + j];
                    }
                    ref[i * out + o] = (float) s;
                }
            }
            try (Tensor xt = be.fromFloats(x, 2, rows, in);
                    Tensor wt = be.upload(TensorData.ofFloats("w", w, out, in), WeightUse.LINEAR);
                    Tensor bt = be.upload(TensorData.ofFloats("b", b, out), WeightUse.GENERAL);
                    Tensor y = be.linear(xt, wt, bt)) {
                assertThat(y.shape()).containsExactly(2, rows, out);
                assertThat(Reference.relativeError(be.toFloats(y), ref)).as("linear " + t).isLessThan(1e-5);
            }
        }
    }

    @Test
    void normsActivationsAndMixing() {
        int h = 80;
        float[] x = Reference.gaussian(r, 3 * 5 * h, 2.0);
        float[] g = Reference.gaussian(r, h, 1.0);
        float[] bb = Reference.gaussian(r, h, 1.0);
        float[] y1 = Reference.gaussian(r, 5 * h, 1.0);
        CheckedBackend be = fp32;
        FusedAttention attn = OpPacks.require(be, FusedAttention.class, "the channel mix");
        try (Tensor xt = be.fromFloats(x, 3, 5, h); Tensor gt = be.upload(TensorData.ofFloats("g", g, h), WeightUse.GENERAL);
                Tensor bt = be.upload(TensorData.ofFloats("b", bb, h), WeightUse.GENERAL);
                Tensor yt = be.fromFloats(y1, 1, 5, h)) {
            assertThat(Reference.maxAbsError(be.toFloats(be.layerNorm(xt, gt, bt, 1e-5f)),
                    Reference.layerNorm(x, h, g, bb, 1e-5f))).isLessThan(2e-5);
            float[] ge = be.toFloats(be.gelu(xt));
            float[] sum = be.toFloats(be.add(xt, yt));
            float[] mix = be.toFloats(attn.channelMix(xt, xt, gt));
            for (int i = 0; i < x.length; i++) {
                assertThat((double) Math.abs(ge[i] - Reference.gelu(x[i]))).isLessThan(1e-5 * (1 + Math.abs(x[i])));
                assertThat(sum[i]).isEqualTo(x[i] + y1[i % y1.length]);
                assertThat((double) Math.abs(mix[i] - x[i])).isLessThan(1e-5 * (1 + Math.abs(x[i])));
            }
            assertThatThrownBy(() -> be.add(yt, xt)).hasMessageContaining("(or batch 1)");
        }
    }

    @Test
    void sliceConcatWriteAndGather() {
        CheckedBackend be = fp16;
        float[] table = Reference.gaussian(r, 40 * 16, 1.0);
        Tensor word = be.upload(TensorData.ofFloats("word", table, 40, 16), WeightUse.GENERAL);
        Tensor head = be.slice(word, 0, 0, 30); // a copy in the weight type
        word.close();
        assertThat(head.dtype()).isEqualTo(DType.FLOAT16);
        float[] headValues = be.toFloats(head);
        for (int i = 0; i < 30 * 16; i++) {
            assertThat(headValues[i]).isEqualTo(Reference.round(table[i], DeviceType.F16));
        }
        int[] rows = {3, 0, 29, 3, 7, 11};
        float[] g = be.toFloats(be.gatherRows(head, rows, 2));
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < 16; j++) {
                assertThat(g[i * 16 + j]).isEqualTo(headValues[rows[i] * 16 + j]);
            }
        }
        assertThatThrownBy(() -> be.gatherRows(head, new int[] {30}, 1)).hasMessageContaining("outside [0, 30)");
        head.close();

        float[] a = Reference.gaussian(r, 2 * 6 * 8, 1.0);
        float[] b = Reference.gaussian(r, 2 * 3 * 8, 1.0);
        try (Tensor at = be.fromFloats(a, 2, 6, 8); Tensor bt = be.fromFloats(b, 2, 3, 8);
                Tensor cache = be.cache(DType.FLOAT16, 2, 10, 8)) {
            assertThat(cache.dtype()).isEqualTo(DType.FLOAT16);
            float[] cat = be.toFloats(be.concat(1, at, bt));
            float[] sl = be.toFloats(be.slice(at, 2, 2, 4));
            be.write(cache, 1, 4, bt);
            float[] c = be.toFloats(cache);
            for (int o = 0; o < 2; o++) {
                for (int i = 0; i < 9; i++) {
                    for (int j = 0; j < 8; j++) {
                        float e = i < 6 ? a[(o * 6 + i) * 8 + j] : b[(o * 3 + i - 6) * 8 + j];
                        assertThat(cat[(o * 9 + i) * 8 + j]).isEqualTo(e);
                    }
                }
                for (int i = 0; i < 10; i++) {
                    for (int j = 0; j < 8; j++) {
                        float e = i >= 4 && i < 7 ? Reference.round(b[(o * 3 + i - 4) * 8 + j], DeviceType.F16) : 0f;
                        assertThat(c[(o * 10 + i) * 8 + j]).isEqualTo(e);
                    }
                }
            }
            for (int i = 0; i < 12; i++) {
                for (int j = 0; j < 4; j++) {
                    assertThat(sl[i * 4 + j]).isEqualTo(a[i * 8 + 2 + j]);
                }
            }
            assertThatThrownBy(() -> be.write(cache, 1, 8, bt)).hasMessageContaining("do not fit axis 1");
        }
    }

    @Test
    void cachesInEachKernelTypeHoldWrittenRows() {
        float[] rows = Reference.gaussian(r, 2 * 3 * 8, 1.0);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT16, DType.BFLOAT16}) {
            try (Tensor cache = fp32.cache(t, 2, 5, 8); Tensor src = fp32.fromFloats(rows, 2, 3, 8)) {
                assertThat(cache.dtype()).isEqualTo(t);
                fp32.write(cache, 1, 2, src);
                float[] c = fp32.toFloats(cache);
                for (int o = 0; o < 2; o++) {
                    for (int i = 0; i < 5; i++) {
                        for (int j = 0; j < 8; j++) {
                            float e = i >= 2 ? Reference.round(rows[(o * 3 + i - 2) * 8 + j], DeviceType.of(t)) : 0f;
                            assertThat(c[(o * 5 + i) * 8 + j]).as(t + " cache").isEqualTo(e);
                        }
                    }
                }
            }
        }
        assertThatThrownBy(() -> fp32.cache(DType.FLOAT64, 1, 2, 8)).hasMessageContaining("FLOAT32, FLOAT16 or BFLOAT16");
    }

    @Test
    void foreignAndClosedTensorsAreRejected() {
        Tensor a = fp16.fromFloats(new float[] {1, 2}, 1, 1, 2);
        assertThatThrownBy(() -> fp32.gelu(a)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("belongs to another backend");
        a.close();
        a.close(); // idempotent
        assertThatThrownBy(() -> fp16.gelu(a)).hasMessageContaining("closed");
        assertThat(fp16.description()).contains("cuda (").contains("weights FLOAT16");
    }
}
