package io.cogvideo.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads {@code .safetensors} files: an 8-byte little-endian header length, a JSON header mapping each tensor name to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative to the end of the header), then the
 * raw little-endian data. {@code __metadata__} is ignored. Supported dtypes: F32, F16, BF16, F64, I64, I32, I8, U8,
 * BOOL. Tensor data is memory-mapped, not copied; files larger than 2 GiB work as long as each tensor is below
 * 2 GiB.
 */
public final class SafetensorsReader {
    /** Largest JSON header accepted. */
    static final long MAX_HEADER_BYTES = 100L * 1000 * 1000;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private SafetensorsReader() {
    }

    /**
     * Reads every tensor of a safetensors file.
     *
     * @throws CheckpointException naming the file and the problem: file too short, header length beyond the file or
     *                             above 100 MB, header not a JSON object, unknown dtype, bad shape, data offsets out
     *                             of range or not matching shape x dtype size
     */
    public static StateDict read(Path file) {
        InputFiles.requireRegularFile(file, "safetensors file");
        try (MappedFile mapped = MappedFile.open(file, -1)) {
            long size = mapped.size();
            if (size < 8) {
                throw new CheckpointException(file, "too short for a safetensors file (" + size + " bytes)");
            }
            ByteBuffer lenBytes = mapped.slice(0, 8, 0, 8, "safetensors header length")
                    .order(ByteOrder.LITTLE_ENDIAN);
            long headerLen = lenBytes.getLong(0);
            if (headerLen < 0 || headerLen > size - 8) {
                throw new CheckpointException(file, "safetensors header length " + Long.toUnsignedString(headerLen)
                        + " runs beyond the file size (" + size + " bytes): not a safetensors file, or truncated");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new CheckpointException(file, "safetensors header length " + headerLen + " exceeds the "
                        + MAX_HEADER_BYTES + " bytes accepted");
            }
            ByteBuffer headerBuf = mapped.slice(0, 8 + headerLen, 8, headerLen, "safetensors header");
            byte[] header = new byte[(int) headerLen];
            headerBuf.get(header);
            JsonNode root;
            try {
                root = JSON.readTree(header);
            } catch (IOException e) {
                throw new CheckpointException(file, "safetensors header is not valid JSON: " + e.getMessage(),
                        e);
            }
            if (!(root instanceof ObjectNode obj)) {
                throw new CheckpointException(file, "safetensors header is not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : obj.properties()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                tensors.put(e.getKey(), tensor(file, mapped, dataStart, dataLen, e.getKey(), e.getValue()));
            }
            return StateDict.of(file, tensors);
        }
    }

    private static TensorData tensor(Path file, MappedFile mapped, long dataStart, long dataLen, String name,
            JsonNode info) {
        String what = "tensor '" + name + "'";
        if (!info.isObject()) {
            throw new CheckpointException(file, what + ": header entry is not a JSON object");
        }
        JsonNode dt = info.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw new CheckpointException(file, what + ": missing or non-string \"dtype\"");
        }
        DType dtype = switch (dt.asText()) {
            case "F32" -> DType.FLOAT32;
            case "F16" -> DType.FLOAT16;
            case "BF16" -> DType.BFLOAT16;
            case "F64" -> DType.FLOAT64;
            case "I64" -> DType.INT64;
            case "I32" -> DType.INT32;
            case "I8" -> DType.INT8;
            case "U8" -> DType.UINT8;
            case "BOOL" -> DType.BOOL;
            default -> throw new CheckpointException(file, what + ": unsupported dtype '" + Inert.clip(dt.asText())
                    + "' (supported: F32, F16, BF16, F64, I64, I32, I8, U8, BOOL)");
        };
        JsonNode shapeNode = info.get("shape");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > SafeTorchUnpickler.MAX_DIMS) {
            throw new CheckpointException(file, what + ": missing or invalid \"shape\"");
        }
        int[] shape = new int[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new CheckpointException(file, what + ": shape " + shapeNode + " has a negative or absurd"
                        + " dimension");
            }
            shape[i] = (int) d.asLong();
            try {
                numel = Math.multiplyExact(numel, d.asLong());
            } catch (ArithmeticException ex) {
                throw new CheckpointException(file, what + ": element count of shape " + shapeNode + " overflows");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException ex) {
            throw new CheckpointException(file, what + ": byte size of shape " + shapeNode + " overflows");
        }
        JsonNode offs = info.get("data_offsets");
        if (offs == null || !offs.isArray() || offs.size() != 2 || !offs.get(0).isIntegralNumber()
                || !offs.get(1).isIntegralNumber() || !offs.get(0).canConvertToLong()
                || !offs.get(1).canConvertToLong()) {
            throw new CheckpointException(file, what + ": missing or invalid \"data_offsets\" " + offs);
        }
        long begin = offs.get(0).asLong();
        long end = offs.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new CheckpointException(file, what + ": data_offsets [" + begin + ", " + end + ") lie outside the"
                    + " data section of " + dataLen + " bytes");
        }
        if (end - begin != bytes) {
            throw new CheckpointException(file, what + ": data_offsets [" + begin + ", " + end + ") span "
                    + (end - begin) + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + bytes);
        }
        ByteBuffer data = mapped.slice(dataStart, dataLen, begin, bytes, what);
        return new TensorData(name, dtype, shape, data);
    }
}
