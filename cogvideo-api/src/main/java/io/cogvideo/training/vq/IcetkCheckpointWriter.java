package io.cogvideo.training.vq;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Half;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes a {@link VqVaeModel} as an fp16 safetensors file with icetk's key names (written atomically). */
final class IcetkCheckpointWriter {
    private IcetkCheckpointWriter() {
    }

    static void write(VqVaeModel model, Path file) {
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        model.parameters().forEach((k, v) -> {
            values.put(k, v);
            shapes.put(k, model.shape(k));
        });
        VqArchitecture a = model.architecture();
        values.put(VqVaeModel.CODEBOOK, model.codebook());
        shapes.put(VqVaeModel.CODEBOOK, new int[] {a.codebookSize(), a.embeddingDim()});
        StringBuilder json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\",\"architecture\":\"")
                .append(a.toString().replace("\"", "'")).append("\"}");
        long offset = 0;
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            long bytes = 2L * e.getValue().length;
            json.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"F16\",\"shape\":")
                    .append(Arrays.toString(shapes.get(e.getKey())).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        json.append('}');
        byte[] head = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (head.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded).put(head);
        for (int i = head.length; i < padded; i++) {
            buf.put((byte) ' ');
        }
        for (float[] v : values.values()) {
            for (float f : v) {
                if (!Float.isFinite(f)) {
                    throw new CogVideoException("VQ-VAE export: a weight is " + f + "; only finite values can be"
                            + " written");
                }
                buf.putShort(Half.fromFloat(f));
            }
        }
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = dir.resolve(file.getFileName() + ".tmp");
            Files.write(tmp, buf.array());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new CogVideoException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
