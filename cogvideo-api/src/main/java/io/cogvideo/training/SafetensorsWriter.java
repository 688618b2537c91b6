package io.cogvideo.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cogvideo.CogVideoException;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes float32 {@code .safetensors} files (an 8-byte little-endian header length, a JSON header naming each
 * tensor's {@code dtype}, {@code shape} and {@code data_offsets}, padded with spaces to 8 bytes, then the raw
 * little-endian data), readable by {@link io.cogvideo.checkpoint.SafetensorsReader} and by the Python
 * {@code safetensors} package. Every file is written atomically: to a temporary file in the same folder, then renamed.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {
    }

    /**
     * One float32 tensor to write.
     *
     * @param values row-major values (not copied: do not change them while writing)
     * @param shape  dimensions; their product is {@code values.length}
     */
    public record Entry(float[] values, int... shape) {
        public Entry {
            if (values == null) {
                throw new CogVideoException("safetensors entry: values are required");
            }
            shape = shape.clone();
            if (TensorData.numel(shape) != values.length) {
                throw new CogVideoException("safetensors entry: shape " + Arrays.toString(shape) + " does not hold "
                        + values.length + " values");
            }
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }
    }

    /** Writes {@code tensors} (in map order) and string {@code metadata} to {@code file}, atomically, as float32. */
    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) {
        write(file, tensors, metadata, false);
    }

    /**
     * Writes {@code tensors} (in map order) and string {@code metadata} to {@code file}, atomically, as float32 or
     * (with {@code float16}) as IEEE half precision, rounded to nearest even (the form of a released checkpoint).
     *
     * @throws CogVideoException if a value is finite in float32 but beyond the float16 range (65504)
     */
    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata, boolean float16) {
        final int width = float16 ? 2 : 4;
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                throw new CogVideoException("safetensors: '__metadata__' is not a valid tensor name");
            }
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", float16 ? "F16" : "F32");
            ArrayNode shape = t.putArray("shape");
            for (int d : e.getValue().shape) {
                shape.add(d);
            }
            long bytes = (long) width * e.getValue().values().length;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (IOException e) {
            throw new CogVideoException("safetensors: cannot serialise the header: " + e.getMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] head = Arrays.copyOf(json, padded);
        Arrays.fill(head, json.length, padded, (byte) ' ');
        writeAtomically(file, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(head));
            ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
            for (Map.Entry<String, Entry> te : tensors.entrySet()) {
                float[] v = te.getValue().values();
                int i = 0;
                while (i < v.length) {
                    int n = Math.min(v.length - i, buf.capacity() / width);
                    buf.clear();
                    if (float16) {
                        for (int j = 0; j < n; j++) {
                            buf.putShort(2 * j, toHalf(v[i + j], te.getKey()));
                        }
                    } else {
                        buf.asFloatBuffer().put(v, i, n);
                    }
                    buf.limit(n * width);
                    writeFully(ch, buf);
                    i += n;
                }
            }
        });
    }

    /** IEEE binary16 bits of {@code f}, rounded to nearest even (as {@code Float.floatToFloat16} of Java 20). */
    static short toHalf(float f, String key) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) { // inf / nan
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            throw new CogVideoException("safetensors: value " + f + " of '" + key + "' is beyond the float16 range"
                    + " [-65504, 65504]");
        }
        if (e <= 0) { // subnormal or zero
            if (e < -10) {
                return (short) sign;
            }
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
            half++; // may carry into the exponent, which is right
        }
        if ((half & 0x7fff) >= 0x7c00) {
            throw new CogVideoException("safetensors: value " + f + " of '" + key + "' rounds beyond the float16"
                    + " range [-65504, 65504]");
        }
        return (short) (sign | half);
    }

    /** The {@code __metadata__} strings of a safetensors file (empty when it has none). */
    public static Map<String, String> readMetadata(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && ch.read(len) >= 0) {
                // read the 8-byte length
            }
            long n = len.getLong(0);
            if (len.hasRemaining() || n < 2 || n > Math.min(ch.size() - 8, 100_000_000L)) {
                throw new CogVideoException(file + ": not a safetensors file (header length " + n + ")");
            }
            ByteBuffer h = ByteBuffer.allocate((int) n);
            while (h.hasRemaining() && ch.read(h) >= 0) {
                // read the header
            }
            JsonNode root = JSON.readTree(new String(h.array(), StandardCharsets.UTF_8));
            Map<String, String> out = new LinkedHashMap<>();
            JsonNode meta = root.path("__metadata__");
            meta.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
            return Collections.unmodifiableMap(out);
        } catch (IOException e) {
            throw new CogVideoException(file + ": cannot read the safetensors header: " + e.getMessage(), e);
        }
    }

    /** Something that writes a file's content to a channel. */
    @FunctionalInterface
    interface ChannelWriter {
        void write(FileChannel channel) throws IOException;
    }

    /** Writes through {@code writer} into a temporary sibling of {@code file}, forces it to disk, then renames it. */
    static void writeAtomically(Path file, ChannelWriter writer) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writer.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new CogVideoException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary file is hidden and named after its target
                }
            }
        }
    }

    /** Writes bytes atomically (see {@link #writeAtomically(Path, ChannelWriter)}). */
    static void writeAtomically(Path file, byte[] content) {
        writeAtomically(file, ch -> writeFully(ch, ByteBuffer.wrap(content)));
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
