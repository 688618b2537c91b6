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

    /** Reads a whole {@code .npy} file. */
    public static NpyArray read(Path file) {
        try {
            return parse(file.toString(), ByteBuffer.wrap(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read .npy file: " + e.getMessage(), e);
        }
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
        long headerLen = major == 1 ? (b.getShort() & 0xffff) : (b.getInt() & 0xffffffffL);
        if (headerLen > b.remaining()) {
            throw new CogVideoException(source + ": truncated .npy header");
        }
        byte[] h = new byte[(int) headerLen];
        b.get(h);
        String header = new String(h, major >= 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher md = DESCR.matcher(header);
        Matcher mf = FORTRAN.matcher(header);
        Matcher ms = SHAPE.matcher(header);
        if (!md.find() || !mf.find() || !ms.find()) {
            throw new CogVideoException(source + ": unreadable .npy header: " + header.trim());
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
        for (String s : ms.group(1).split(",")) {
            if (!s.isBlank()) {
                dims.add(Integer.parseInt(s.trim()));
            }
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        long bytesNeeded = TensorData.numel(shape) * dtype.byteSize();
        if (bytesNeeded > b.remaining()) {
            throw new CogVideoException(source + ": truncated .npy data: need " + bytesNeeded + " bytes, have "
                    + b.remaining());
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
                case FLOAT32 -> (long) b.getFloat(i * 4);
                case FLOAT64 -> (long) b.getDouble(i * 8);
                default -> throw new CogVideoException(data.name() + ": cannot read " + data.dtype() + " as integers");
            };
        }
        return out;
    }

    /** Values as int (checked narrowing of {@link #longs()}). */
    public int[] ints() {
        long[] l = longs();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }
}
