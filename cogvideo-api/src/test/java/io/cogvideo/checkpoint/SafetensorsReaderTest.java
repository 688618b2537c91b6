package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.spi.DType;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsReaderTest {
    @TempDir
    Path tmp;

    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return Files.write(file, b.array());
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertFails(Path file) {
        return assertThatThrownBy(() -> SafetensorsReader.read(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString());
    }

    @Test
    void readsTensorsIgnoringMetadata() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(8 + 4 + 16 + 2 + 2).order(ByteOrder.LITTLE_ENDIAN);
        data.putFloat(1.5f).putFloat(-2f);                  // a: F32 [2]        [0, 8)
        data.putShort((short) 0x3E00).putShort((short) 0x3FC0); // h: F16 [1], b: BF16 [1]  [8, 10) [10, 12)
        data.putLong(-5).putLong(9);                        // i: I64 [2, 1]     [12, 28)
        data.put((byte) 1).put((byte) 0);                   // m: BOOL [2]       [28, 30)
        data.put((byte) 250).put((byte) -3);                // u: U8 [1], c: I8 [1]
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[10,12]},"
                + "\"i\":{\"dtype\":\"I64\",\"shape\":[2,1],\"data_offsets\":[12,28]},"
                + "\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[28,30]},"
                + "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[30,31]},"
                + "\"c\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[31,32]}}   ";
        Path f = write(tmp.resolve("m.safetensors"), header, data.array());
        StateDict sd = SafetensorsReader.read(f);
        assertThat(sd.keys()).containsExactly("a", "h", "b", "i", "m", "u", "c");
        assertThat(sd.require("a", 2).toFloatArray()).containsExactly(1.5f, -2f);
        assertThat(sd.get("h").toFloatArray()).containsExactly(1.5f);
        assertThat(sd.get("b").toFloatArray()).containsExactly(1.5f);
        assertThat(sd.require("i", 2, 1).data().getLong(0)).isEqualTo(-5);
        assertThat(sd.get("m").dtype()).isEqualTo(DType.BOOL);
        assertThat(sd.get("u").data().get(0) & 0xff).isEqualTo(250);
        assertThat(sd.require("c").data().get(0)).isEqualTo((byte) -3);
        assertThat(sd.get("a").data().isDirect()).isTrue();
    }

    @Test
    void headerLengthBeyondFileSize() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Path f = Files.write(tmp.resolve("long.safetensors"), b.array());
        assertFails(f).hasMessageContaining("header length 1000 runs beyond the file size");
        ByteBuffer neg = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(-1);
        Path g = Files.write(tmp.resolve("neg.safetensors"), neg.array());
        assertFails(g).hasMessageContaining("runs beyond the file size");
    }

    @Test
    void headerAboveHundredMegabytes() throws IOException {
        Path f = tmp.resolve("sparse.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(120_000_000L);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(110_000_000L).array());
        }
        assertFails(f).hasMessageContaining("exceeds the 100000000 bytes accepted");
    }

    @Test
    void tooShortAndNotJson() throws IOException {
        assertFails(Files.write(tmp.resolve("short.safetensors"), new byte[3])).hasMessageContaining("too short");
        assertFails(write(tmp.resolve("nojson.safetensors"), "{not json", new byte[0]))
                .hasMessageContaining("not valid JSON");
        assertFails(write(tmp.resolve("array.safetensors"), "[1,2]", new byte[0]))
                .hasMessageContaining("not a JSON object");
        assertFails(write(tmp.resolve("dup.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]))
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        assertFails(write(tmp.resolve("end.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]))
                .hasMessageContaining("'a'").hasMessageContaining("data_offsets [0, 16) lie outside the data section of"
                        + " 8 bytes");
        assertFails(write(tmp.resolve("neg.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[8]))
                .hasMessageContaining("lie outside");
        assertFails(write(tmp.resolve("rev.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", new byte[8]))
                .hasMessageContaining("lie outside");
        assertFails(write(tmp.resolve("huge.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999]}}", new byte[8]))
                .hasMessageContaining("lie outside");
    }

    @Test
    void offsetsNotMatchingShapeAndDtype() throws IOException {
        assertFails(write(tmp.resolve("size.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]))
                .hasMessageContaining("span 8 bytes but shape [3] of FLOAT32 needs 12");
        long n = 1L << 20;
        assertFails(write(tmp.resolve("hugeshape.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + n + "," + n + "],\"data_offsets\":[0,4]}}", new byte[4]))
                .hasMessageContaining("needs " + (n * n * 4));
        assertFails(write(tmp.resolve("negshape.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]))
                .hasMessageContaining("negative or absurd");
    }

    @Test
    void unsupportedDtype() throws IOException {
        assertFails(write(tmp.resolve("f8.safetensors"),
                "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]))
                .hasMessageContaining("unsupported dtype 'F8_E4M3'");
    }

    /** A sparse file of more than 2 GiB: tensors beyond the 2 GiB mark are mapped piecewise. */
    @Test
    void fileLargerThanTwoGibibytes() throws IOException {
        long far = (1L << 31) + 64;
        String header = "{\"near\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"far\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + far + "," + (far + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = tmp.resolve("big.safetensors");
        long dataStart = 8 + h.length;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(dataStart + far + 16);
            ByteBuffer head = ByteBuffer.allocate((int) dataStart + 8).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(h.length).put(h).putFloat(1f).putFloat(2f);
            raf.write(head.array());
            raf.seek(dataStart + far);
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(3f).putFloat(4f).putFloat(5f).putFloat(6f);
            raf.write(tail.array());
        }
        assertThat(Files.size(f)).isGreaterThan(1L << 31);
        StateDict sd = SafetensorsReader.read(f);
        assertThat(sd.get("near").toFloatArray()).containsExactly(1f, 2f);
        assertThat(sd.require("far", 2, 2).toFloatArray()).containsExactly(3f, 4f, 5f, 6f);
    }
}
