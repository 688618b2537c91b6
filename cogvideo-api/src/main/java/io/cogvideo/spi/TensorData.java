package io.cogvideo.spi;

import io.cogvideo.CogVideoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A tensor as raw host bytes: little-endian, C (row-major) order, usually a read-only slice of a memory-mapped
 * checkpoint file. Nothing is copied until a backend uploads or converts it.
 *
 * @param name  the key the tensor was stored under (used in error messages)
 * @param dtype element type of {@code data}
 * @param shape dimensions, outermost first
 * @param data  exactly {@code numel * dtype.byteSize()} bytes, little-endian
 */
public record TensorData(String name, DType dtype, int[] shape, ByteBuffer data) {

    public TensorData {
        shape = shape.clone();
        long expected = numel(shape) * dtype.byteSize();
        if (data.remaining() != expected) {
            throw new CogVideoException("tensor '" + name + "' of shape " + Arrays.toString(shape) + " and dtype "
                    + dtype + " needs " + expected + " bytes but " + data.remaining() + " are available");
        }
        data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Number of elements of a shape. */
    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long numel() {
        return numel(shape);
    }

    /** A fresh little-endian view of the bytes (position 0). */
    @Override
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The leading-dimension rows {@code [from, from + count)} as a view of the same bytes (for example the image
     * rows of a word-embedding table, which the model also uses as its tied output head).
     */
    public TensorData rows(int from, int count) {
        if (shape.length == 0 || from < 0 || count < 1 || (long) from + count > shape[0]) {
            throw new CogVideoException("rows [" + from + ", " + ((long) from + count) + ") outside tensor '" + name
                    + "' of shape " + Arrays.toString(shape));
        }
        long rowBytes = numel(shape) / shape[0] * dtype.byteSize();
        int[] s = shape.clone();
        s[0] = count;
        ByteBuffer view = data.duplicate().position(Math.toIntExact(from * rowBytes))
                .limit(Math.toIntExact((from + count) * rowBytes));
        return new TensorData(name + "[" + from + ":" + (from + count) + "]", dtype, s, view);
    }

    /** Builds a FLOAT32 tensor from host values (tests, small inputs). */
    public static TensorData ofFloats(String name, float[] values, int... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new TensorData(name, DType.FLOAT32, shape, b);
    }

    /**
     * Converts the values to float32. Half and bfloat16 are widened exactly; float64 is rounded.
     *
     * @throws CogVideoException if the tensor has more than {@code Integer.MAX_VALUE - 8} elements or is not floating point
     */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new CogVideoException("tensor '" + name + "' has " + n + " elements, too many for one float[]");
        }
        float[] out = new float[(int) n];
        copyToFloats(0, out, 0, (int) n);
        return out;
    }

    /** Converts {@code count} elements starting at element {@code from} into {@code dst[dstOffset..]}. */
    public void copyToFloats(long from, float[] dst, int dstOffset, int count) {
        ByteBuffer b = data();
        switch (dtype) {
            case FLOAT32 -> {
                var fb = b.asFloatBuffer();
                fb.position((int) from);
                fb.get(dst, dstOffset, count);
            }
            case FLOAT16 -> {
                var sb = b.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = Half.toFloat(sb.get((int) (from + i)));
                }
            }
            case BFLOAT16 -> {
                var sb = b.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = Float.intBitsToFloat((sb.get((int) (from + i)) & 0xffff) << 16);
                }
            }
            case FLOAT64 -> {
                var db = b.asDoubleBuffer();
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = (float) db.get((int) (from + i));
                }
            }
            default -> throw new CogVideoException("tensor '" + name + "' has dtype " + dtype
                    + "; a floating-point type (FLOAT32, FLOAT16, BFLOAT16, FLOAT64) was expected");
        }
    }

    @Override
    public String toString() {
        return "TensorData[" + name + ", " + dtype + ", " + Arrays.toString(shape) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }
}
