package io.cogvideo.backend.cpu;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * {@link Backend} on ND4J's CPU backend. Weights and activations are float32; GEMMs go to OpenBLAS.
 * Thread-safe for concurrent requests (ND4J's CPU ops are re-entrant; tensors are not shared between requests).
 */
final class CpuBackend implements Backend {
    private static final int CONVERT_CHUNK = 1 << 22;

    private final BackendOptions options;

    CpuBackend(BackendOptions options) {
        this.options = options;
        Nd4jQuiet.init(options.threads());
        if (options.weightDtype() != null && options.weightDtype() != DType.FLOAT32) {
            throw new CogVideoException("the cpu backend stores weights as FLOAT32 only; requested "
                    + options.weightDtype());
        }
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "cpu (ND4J " + Nd4j.getBackend().getClass().getSimpleName() + ", float32, "
                + Nd4jQuiet.threads() + " threads)";
    }

    private static INDArray nd(Tensor t) {
        if (t instanceof CpuTensor c) {
            return c.a;
        }
        throw new CogVideoException("tensor " + t + " does not belong to the cpu backend");
    }

    private static CpuTensor wrap(INDArray a) {
        return new CpuTensor(a);
    }

    private static long[] longs(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            s[i] = shape[i];
        }
        return s;
    }

    // ------------------------------------------------------------------ tensors

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        if (TensorData.numel(shape) != values.length) {
            throw new CogVideoException("shape " + Arrays.toString(shape) + " needs " + TensorData.numel(shape)
                    + " values, got " + values.length);
        }
        return wrap(Nd4j.create(values, longs(shape), 'c'));
    }

    @Override
    public Tensor upload(TensorData data) {
        long n = data.numel();
        INDArray out = Nd4j.create(DataType.FLOAT, longs(data.shape()), 'c');
        INDArray flat = out.reshape('c', new long[] {n});
        float[] chunk = new float[(int) Math.min(n, CONVERT_CHUNK)];
        for (long off = 0; off < n; off += CONVERT_CHUNK) {
            int len = (int) Math.min(CONVERT_CHUNK, n - off);
            if (len != chunk.length) {
                chunk = new float[len];
            }
            data.copyToFloats(off, chunk, 0, len);
            flat.get(NDArrayIndex.interval(off, off + len)).assign(Nd4j.createFromArray(chunk));
        }
        return wrap(out);
    }

    @Override
    public Tensor zeros(int... shape) {
        return wrap(Nd4j.create(DataType.FLOAT, longs(shape), 'c'));
    }

    @Override
    public float[] toFloats(Tensor t) {
        return nd(t).dup('c').data().asFloat();
    }

    // ------------------------------------------------------------------ operations

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        INDArray tab = nd(table);
        if (rows.length % batch != 0) {
            throw new CogVideoException("gatherRows: " + rows.length + " rows do not split into batch " + batch);
        }
        long vocab = tab.size(0);
        for (int r : rows) {
            if (r < 0 || r >= vocab) {
                throw new CogVideoException("row " + r + " outside [0, " + vocab + ")");
            }
        }
        INDArray g = Nd4j.pullRows(tab, 1, rows);
        return wrap(g.reshape('c', new long[] {batch, rows.length / batch, tab.size(1)}));
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        INDArray a = nd(x);
        INDArray w = nd(weight);
        long in = a.size(-1);
        if (w.size(1) != in) {
            throw new CogVideoException("linear: input width " + in + " does not match weight "
                    + Arrays.toString(w.shape()));
        }
        long rows = a.length() / in;
        INDArray a2 = a.reshape('c', new long[] {rows, in});
        INDArray y = a2.mmul(w.transpose());
        if (bias != null) {
            y.addiRowVector(nd(bias));
        }
        long[] shape = a.shape().clone();
        shape[shape.length - 1] = w.size(0);
        return wrap(y.reshape('c', shape));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        INDArray a = nd(x);
        long hdim = a.size(-1);
        INDArray a2 = a.reshape('c', new long[] {a.length() / hdim, hdim});
        INDArray mean = a2.mean(true, 1);
        INDArray c = a2.subColumnVector(mean);
        INDArray var = c.mul(c).mean(true, 1);
        INDArray inv = Transforms.pow(var.addi(eps), -0.5, false);
        c.muliColumnVector(inv).muliRowVector(nd(gamma)).addiRowVector(nd(beta));
        return wrap(c.reshape('c', a.shape()));
    }

    @Override
    public Tensor gelu(Tensor x) {
        INDArray a = nd(x);
        // 0.5 x (1 + tanh(0.7978845608 (x + 0.044715 x^3)))
        INDArray inner = a.mul(a).muli(0.044715f).addi(1f).muli(a).muli(0.7978845608028654f);
        INDArray t = Transforms.tanh(inner, false).addi(1f).muli(a).muli(0.5f);
        return wrap(t);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        INDArray x = nd(a);
        INDArray y = nd(b);
        if (Arrays.equals(x.shape(), y.shape())) {
            return wrap(x.add(y));
        }
        if (y.size(0) == 1 && x.rank() == y.rank()) {
            long per = y.length();
            INDArray x2 = x.reshape('c', new long[] {x.size(0), per});
            return wrap(x2.addRowVector(y.reshape('c', new long[] {per})).reshape('c', x.shape()));
        }
        throw new CogVideoException("add: shapes " + Arrays.toString(x.shape()) + " and " + Arrays.toString(y.shape())
                + " do not broadcast");
    }

    @Override
    public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
        INDArray b = nd(base);
        INDArray p = nd(plus);
        INDArray s = Transforms.sigmoid(nd(mixLogits), true);
        INDArray oneMinus = s.rsub(1f);
        long hdim = b.size(-1);
        INDArray b2 = b.reshape('c', new long[] {b.length() / hdim, hdim}).mulRowVector(s);
        INDArray p2 = p.reshape('c', new long[] {p.length() / hdim, hdim}).mulRowVector(oneMinus);
        return wrap(b2.addi(p2).reshape('c', b.shape()));
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        INDArray a = nd(x);
        return wrap(a.get(range(a.rank(), axis, start, length)).dup('c'));
    }

    private static INDArrayIndex[] range(int rank, int axis, long start, long length) {
        INDArrayIndex[] idx = new INDArrayIndex[rank];
        for (int i = 0; i < rank; i++) {
            idx[i] = i == axis ? NDArrayIndex.interval(start, start + length) : NDArrayIndex.all();
        }
        return idx;
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        INDArray[] arrays = new INDArray[parts.length];
        for (int i = 0; i < parts.length; i++) {
            arrays[i] = nd(parts[i]);
        }
        return wrap(Nd4j.concat(axis, arrays));
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        INDArray d = nd(dst);
        INDArray s = nd(src);
        long len = s.size(axis);
        if (offset < 0 || offset + len > d.size(axis)) {
            throw new CogVideoException("write: rows [" + offset + ", " + (offset + len) + ") outside [0, "
                    + d.size(axis) + ")");
        }
        d.get(range(d.rank(), axis, offset, len)).assign(s);
    }

    @Override
    public Tensor attention(Tensor qt, Tensor kt, Tensor vt, int keyLength, AttentionMask mask) {
        INDArray q = nd(qt);
        INDArray k = nd(kt);
        INDArray v = nd(vt);
        return wrap(CpuAttention.attention(q, k, v, keyLength, mask));
    }

    @Override
    public void close() {
        // nothing held beyond ND4J's own arrays
    }
}
