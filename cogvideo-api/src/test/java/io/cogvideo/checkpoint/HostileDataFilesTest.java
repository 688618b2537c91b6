package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.generation.ClusterSampler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Hostile {@code .npy} token files and cluster tables of issue #18: named errors, never an overflow or an OOM. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class HostileDataFilesTest {
    @TempDir
    Path tmp;

    /** A version-1 {@code .npy} file with the given header dictionary and body. */
    static byte[] npy(String dict, byte[] body) {
        String header = dict + " ".repeat(Math.max(0, 63 - (10 + dict.length()) % 64)) + "\n";
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + h.length + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) h.length).put(h).put(body);
        return b.array();
    }

    static byte[] doubles(double... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(v);
        return b.array();
    }

    static byte[] int32s(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(v);
        return b.array();
    }

    private Path write(String name, byte[] data) throws IOException {
        return Files.write(tmp.resolve(name), data);
    }

    @Test
    void int32AndSingleRowTokenFilesAreAccepted() throws IOException {
        Path flat = write("flat.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                int32s(5, 6, 7)));
        assertThat(NpyArray.readTokenIds(flat, 100)).containsExactly(5, 6, 7);
        Path row = write("row.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3), }",
                TorchZip.longs(1, 2, 3)));
        assertThat(NpyArray.readTokenIds(row, 100)).containsExactly(1, 2, 3);
        Path whole = write("whole.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                doubles(4, 9)));
        assertThat(NpyArray.readTokenIds(whole, 100)).containsExactly(4, 9);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1e30 | value 1.0E30 at index 1 is not an integer",
        "NaN | value NaN at index 1 is not an integer",
        "1.5 | value 1.5 at index 1 is not an integer",
        "1099511627776 | value 1099511627776 at index 1 is outside the allowed range [0, 100)",
        "-1 | value -1 at index 1 is outside the allowed range [0, 100)"})
    void tokenValuesOutOfRangeAreNamed(double value, String message) throws IOException {
        Path f = write("bad.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                doubles(3, value)));
        assertThatThrownBy(() -> NpyArray.readTokenIds(f, 100)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining(message);
    }

    @Test
    void int64BeyondIntIsNamedNotAnArithmeticException() throws IOException {
        Path f = write("big.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                TorchZip.longs(1, 1L << 40)));
        assertThatThrownBy(() -> NpyArray.read(f).ints()).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("value 1099511627776 at index 1");
        assertThatThrownBy(() -> ClusterSampler.readTable(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("1099511627776");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "(99999999999,) | shape dimension '99999999999' is not an integer in [0, 2147483647]",
        "(-4,) | shape dimension '-4' is not an integer",
        "(abc,) | shape dimension 'abc'",
        "(1000000, 1000000) | truncated .npy data"})
    void badShapesGiveClearMessages(String shape, String message) throws IOException {
        Path f = write("shape.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': " + shape + ", }",
                TorchZip.longs(1, 2)));
        assertThatThrownBy(() -> NpyArray.read(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining(message);
    }

    @Test
    void truncatedHeaderLengthAndVersionAreNamed() throws IOException {
        byte[] v2 = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 9, 0};
        Path f = write("v2.npy", v2);
        assertThatThrownBy(() -> NpyArray.read(f)).hasMessageContaining(f.toString())
                .hasMessageContaining("truncated .npy header");
        byte[] v9 = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 9, 0, 9, 0, 0, 0};
        Path g = write("v9.npy", v9);
        assertThatThrownBy(() -> NpyArray.read(g)).hasMessageContaining("version 9 is not supported");
    }

    @Test
    void clusterIdsBeyondTheTableAreRefusedBeforeAllocation() throws IOException {
        Path f = write("clusters.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                TorchZip.longs(0, 500_000_000, 1)));
        assertThatThrownBy(() -> ClusterSampler.readTable(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("value 500000000 at index 1")
                .hasMessageContaining("[0, 3)");
        assertThatThrownBy(() -> new ClusterSampler(new int[] {0, 500_000_000, 1}, 1, 1, 1))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("cluster id 500000000");
    }

    @Test
    void npyThatIsAFolderIsRefused() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("dir.npy"));
        assertThatThrownBy(() -> NpyArray.read(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("is a folder");
    }

    @Test
    void shapeDimensionBeyondLongIsANamedError() throws Exception {
        // found by the fuzz suite's long mode: 19 digits passed the pattern and overflowed Long.parseLong
        Path f = write("huge.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (9999999999999999999,), }",
                new byte[8]));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NpyArray.readTokenIds(f, 100))
                .isInstanceOf(io.cogvideo.CogVideoException.class).hasMessageContaining("huge.npy")
                .hasMessageContaining("9999999999999999999");
    }
}
