package io.cogvideo.checkpoint;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test helper: builds torch.save-style zips (STORED entries) with java.util.zip. */
final class TorchZip {
    private final String prefix;
    private byte[] pickle;
    private final Map<String, byte[]> storages = new LinkedHashMap<>();
    private final Map<String, Boolean> deflate = new LinkedHashMap<>();
    private final Map<String, byte[]> extras = new LinkedHashMap<>();

    TorchZip(String prefix) {
        this.prefix = prefix;
    }

    TorchZip pickle(byte[] data) {
        this.pickle = data;
        return this;
    }

    TorchZip pickle(PickleWriter w) {
        return pickle(w.bytes());
    }

    TorchZip storage(String key, byte[] data) {
        storages.put(key, data);
        return this;
    }

    TorchZip deflatedStorage(String key, byte[] data) {
        storages.put(key, data);
        deflate.put(key, true);
        return this;
    }

    /** An extra entry {@code <prefix>/<name>} (e.g. {@code byteorder}). */
    TorchZip extra(String name, byte[] data) {
        extras.put(name, data);
        return this;
    }

    Path write(Path file) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            if (pickle != null) {
                stored(zip, prefix + "/data.pkl", pickle);
            }
            for (Map.Entry<String, byte[]> e : storages.entrySet()) {
                String name = prefix + "/data/" + e.getKey();
                if (deflate.containsKey(e.getKey())) {
                    ZipEntry ze = new ZipEntry(name);
                    ze.setMethod(ZipEntry.DEFLATED);
                    zip.putNextEntry(ze);
                    zip.write(e.getValue());
                    zip.closeEntry();
                } else {
                    stored(zip, name, e.getValue());
                }
            }
            stored(zip, prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            for (Map.Entry<String, byte[]> e : extras.entrySet()) {
                stored(zip, prefix + "/" + e.getKey(), e.getValue());
            }
        }
        return file;
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry ze = new ZipEntry(name);
        ze.setMethod(ZipEntry.STORED);
        ze.setSize(data.length);
        ze.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        ze.setCrc(crc.getValue());
        zip.putNextEntry(ze);
        zip.write(data);
        zip.closeEntry();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    static byte[] longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(v);
        return b.array();
    }
}
