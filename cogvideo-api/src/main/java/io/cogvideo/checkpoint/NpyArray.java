package io.cogvideo.checkpoint;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A NumPy {@code .npy} array (format 1.0-3.0, little-endian, C order): used for the cluster table of the sampler
 * and for golden test data. Fortran order, big-endian and object arrays are rejected with a clear error.
 */
public final class NpyArray {
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private final TensorData data;

    private NpyArray(TensorData data) {
        this.data = data;
    }

    /**
     * Reads a whole {@code .npy} file: a regular file (not a folder, FIFO or device) of at most
     * {@link ReadLimits#npyBytes()} bytes.
     *
     * @throws CogVideoException naming the file for a missing, non-regular, oversized or malformed file
     */
    public static NpyArray read(Path file) {
        byte[] bytes = InputFiles.readBounded(file, ".npy file", ReadLimits.defaults().npyBytes(), "npyBytes");
        return parse(file.toString(), ByteBuffer.wrap(bytes));
    }

    /**
     * Reads a file of token ids: a 1-D {@code .npy} array {@code [L]} or a single row {@code [1, L]} of any integer
     * dtype (int8 to int64, uint8), or of floats holding whole numbers; every id must lie in
     * {@code [0, maxExclusive)}.
     *
     * @throws CogVideoException naming the file: wrong shape, empty, or an id that is not an integer (NaN, 1.5) or
     *                           out of range (negative, {@code 1e30}, {@code 2^40}), with its index and value
     */
    public static int[] readTokenIds(Path file, long maxExclusive) {
        NpyArray a = read(file);
        int[] shape = a.shape();
        if (!(shape.length == 1 || shape.length == 2 && shape[0] == 1)) {
            throw new CogVideoException(file + ": token ids must be a .npy array of shape [L] or [1, L], got "
                    + java.util.Arrays.toString(shape));
        }
        if (a.tensor().numel() == 0) {
            throw new CogVideoException(file + ": holds no token ids (shape " + java.util.Arrays.toString(shape)
                    + ")");
        }
        return a.ints(0, maxExclusive);
    }

    /** Parses {@code .npy} bytes; {@code source} names them in errors. */
    public static NpyArray parse(String source, ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 10 || b.get() != (byte) 0x93 || b.get() != 'N' || b.get() != 'U' || b.get() != 'M'
                || b.get() != 'P' || b.get() != 'Y') {
            throw new CogVideoException(source + ": not a .npy file (bad magic)");
        }
        int major = b.get() & 0xff;
        b.get();
        if (major < 1 || major > 3) {
            throw new CogVideoException(source + ": .npy format version " + major + " is not supported (1 to 3)");
        }
        if (major > 1 && b.remaining() < 4) {
            throw new CogVideoException(source + ": truncated .npy header (no header length)");
        }
        long headerLen = major == 1 ? (b.getShort() & 0xffff) : (b.getInt() & 0xffffffffL);
        if (headerLen > b.remaining()) {
            throw new CogVideoException(source + ": truncated .npy header: it declares " + headerLen
                    + " bytes but only " + b.remaining() + " follow");
        }
        byte[] h = new byte[(int) headerLen];
        b.get(h);
        String header = new String(h, major >= 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher md = DESCR.matcher(header);
        Matcher mf = FORTRAN.matcher(header);
        Matcher ms = SHAPE.matcher(header);
        if (!md.find() || !mf.find() || !ms.find()) {
            throw new CogVideoException(source + ": unreadable .npy header (needs 'descr', 'fortran_order' and"
                    + " 'shape'): " + Inert.clip(header.trim()));
        }
        if (mf.group(1).equals("True")) {
            throw new CogVideoException(source + ": Fortran-ordered arrays are not supported");
        }
        DType dtype = switch (md.group(1)) {
            case "<f4" -> DType.FLOAT32;
            case "<f2" -> DType.FLOAT16;
            case "<f8" -> DType.FLOAT64;
            case "<i8" -> DType.INT64;
            case "<i4" -> DType.INT32;
            case "|i1" -> DType.INT8;
            case "|u1" -> DType.UINT8;
            case "|b1" -> DType.BOOL;
            default -> throw new CogVideoException(source + ": unsupported .npy dtype '" + md.group(1) + "'");
        };
        List<Integer> dims = new ArrayList<>();
        String[] parts = ms.group(1).split(",", -1);
        if (parts.length > 33) {
            throw new CogVideoException(source + ": .npy shape has " + parts.length + " dimensions (at most 32)");
        }
        for (String s : parts) {
            String d = s.strip();
            if (d.endsWith("L")) {
                d = d.substring(0, d.length() - 1); // Python 2 long literal
            }
            if (d.isEmpty()) {
                continue;
            }
            if (!d.matches("[0-9]{1,10}") || Long.parseLong(d) > Integer.MAX_VALUE) {
                throw new CogVideoException(source + ": .npy shape dimension '" + Inert.clip(s.strip())
                        + "' is not an integer in [0, " + Integer.MAX_VALUE + "]");
            }
            dims.add(Integer.parseInt(d));
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        long bytesNeeded = dtype.byteSize();
        for (int d : shape) {
            bytesNeeded = d == 0 ? 0 : bytesNeeded > b.remaining() / d ? Long.MAX_VALUE : bytesNeeded * d;
        }
        if (bytesNeeded > b.remaining()) {
            throw new CogVideoException(source + ": truncated .npy data: shape " + java.util.Arrays.toString(shape)
                    + " of " + md.group(1) + " needs " + (bytesNeeded == Long.MAX_VALUE ? "more than "
                    + b.remaining() : String.valueOf(bytesNeeded)) + " bytes, " + b.remaining() + " follow the header");
        }
        ByteBuffer body = b.slice().limit((int) bytesNeeded);
        return new NpyArray(new TensorData(source, dtype, shape, body));
    }

    /** Writes a float32 {@code .npy} file (format 1.0, little-endian, C order). */
    public static void writeFloats(Path file, float[] values, int... shape) {
        if (TensorData.numel(shape) != values.length) {
            throw new CogVideoException("shape " + java.util.Arrays.toString(shape) + " does not hold "
                    + values.length + " values");
        }
        StringBuilder dims = new StringBuilder();
        for (int d : shape) {
            dims.append(d).append(", ");
        }
        String dimText = shape.length == 1 ? shape[0] + "," : dims.substring(0, Math.max(0, dims.length() - 2));
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dimText + "), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + h.length + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.ISO_8859_1)).put((byte) 1).put((byte) 0);
        b.putShort((short) h.length).put(h);
        b.asFloatBuffer().put(values);
        try {
            Files.write(file, b.array());
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot write .npy file: " + e.getMessage(), e);
        }
    }

    public int[] shape() {
        return data.shape();
    }

    public DType dtype() {
        return data.dtype();
    }

    public TensorData tensor() {
        return data;
    }

    /** Values as float32 (floating-point arrays only). */
    public float[] floats() {
        return data.toFloatArray();
    }

    /** Values as long (integer and bool arrays, and exact floats). */
    public long[] longs() {
        ByteBuffer b = data.data();
        int n = (int) data.numel();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (data.dtype()) {
                case INT64 -> b.getLong(i * 8);
                case INT32 -> b.getInt(i * 4);
                case INT8, BOOL -> b.get(i);
                case UINT8 -> b.get(i) & 0xff;
                case FLOAT32 -> wholeNumber(b.getFloat(i * 4), i);
                case FLOAT64 -> wholeNumber(b.getDouble(i * 8), i);
                default -> throw new CogVideoException(data.name() + ": cannot read " + data.dtype() + " as integers");
            };
        }
        return out;
    }

    private long wholeNumber(double v, int index) {
        if (!Double.isFinite(v) || v != Math.rint(v) || Math.abs(v) >= 0x1p63) {
            throw new CogVideoException(data.name() + ": value " + v + " at index " + index + " is not an integer"
                    + " (an integer array was expected)");
        }
        return (long) v;
    }

    /**
     * Values as int (checked narrowing of {@link #longs()}).
     *
     * @throws CogVideoException naming the source, the index and the value if one does not fit an int
     */
    public int[] ints() {
        return ints(Integer.MIN_VALUE, Integer.MAX_VALUE + 1L);
    }

    /**
     * Values as int, each in {@code [min, maxExclusive)}.
     *
     * @throws CogVideoException naming the source, the index, the value and the range for the first value outside
     */
    public int[] ints(long min, long maxExclusive) {
        long[] l = longs();
        long hi = Math.min(maxExclusive, Integer.MAX_VALUE + 1L);
        long lo = Math.max(min, Integer.MIN_VALUE);
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] < lo || l[i] >= hi) {
                throw new CogVideoException(data.name() + ": value " + l[i] + " at index " + i + " is outside the"
                        + " allowed range [" + lo + ", " + hi + ")");
            }
            out[i] = (int) l[i];
        }
        return out;
    }
}
