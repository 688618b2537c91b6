package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile checkpoints and checkpoint folders of issue #18: pickle amplification through allowed globals, the budget
 * limits, {@code latest} as a device, a FIFO or with NUL bytes, overlapping zip entries and an end record that lies
 * about the entry count. Each must fail at once with a {@link CheckpointException} naming the file and the limit.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class HostileInputFilesTest {
    @TempDir
    Path tmp;

    private static byte[] list(int n) {
        // EMPTY_LIST, BINPUT 0, MARK, n x NONE, APPENDS
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x80, 2, ']', 'q', 0, '('});
        for (int i = 0; i < n; i++) {
            out.write('N');
        }
        out.write('e');
        return out.toByteArray();
    }

    @Test
    void setOverAMemoisedMillionElementListFailsFastWithTheObjectBudget() throws IOException {
        PickleWriter w = new PickleWriter().raw(toInts(list(1_000_000))).op('0');
        for (int i = 0; i < 200; i++) {
            w.global("builtins", "set").binget(0).tuple1().reduce().op('0');
        }
        w.none().stop();
        Path pt = new TorchZip("archive").pickle(w).storage("0", new byte[4]).write(tmp.resolve("bomb.pt"));
        long start = System.nanoTime();
        assertThatThrownBy(() -> TorchCheckpointReader.read(pt)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString()).hasMessageContaining("-Dcogvideo.limits.pickleObjects");
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(10);
    }

    private static int[] toInts(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xff;
        }
        return out;
    }

    private static ReadLimits limits(long container, long nesting, long memo) {
        ReadLimits b = ReadLimits.BUILT_IN;
        return new ReadLimits(b.pickleBytes(), b.pickleObjects(), container, nesting, memo, b.smallFileBytes(),
                b.npyBytes(), b.imagePixels(), b.codecPixels());
    }

    @Test
    void containerSizeNestingAndMemoReferencesAreBudgeted() {
        Path f = tmp.resolve("x.pt");
        SafeTorchUnpickler small = new SafeTorchUnpickler(f, limits(10, 100, 1000));
        assertThatThrownBy(() -> small.unpickle(new PickleWriter().raw(toInts(list(11))).stop().bytes()))
                .hasMessageContaining("-Dcogvideo.limits.pickleContainer").hasMessageContaining("reached 11");

        PickleWriter deep = new PickleWriter().proto(2);
        for (int i = 0; i < 8; i++) {
            deep.emptyList();
        }
        for (int i = 0; i < 7; i++) {
            deep.append();
        }
        SafeTorchUnpickler shallow = new SafeTorchUnpickler(f, limits(10, 5, 1000));
        assertThatThrownBy(() -> shallow.unpickle(deep.stop().bytes()))
                .hasMessageContaining("-Dcogvideo.limits.pickleNesting");

        PickleWriter refs = new PickleWriter().proto(2).none().binput(0).op('0');
        for (int i = 0; i < 20; i++) {
            refs.binget(0).op('0');
        }
        SafeTorchUnpickler fewRefs = new SafeTorchUnpickler(f, limits(10, 100, 10));
        assertThatThrownBy(() -> fewRefs.unpickle(refs.none().stop().bytes()))
                .hasMessageContaining("-Dcogvideo.limits.pickleMemo").hasMessageContaining("memo references");
    }

    private Path folder(byte[] latest) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        Files.createDirectories(dir.resolve("1"));
        Files.writeString(dir.resolve("model_config.json"), "{}");
        if (latest != null) {
            Files.write(dir.resolve("latest"), latest);
        }
        return dir;
    }

    @Test
    void latestLinkedToDevZeroIsRefusedWithoutReading() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/zero")));
        Path dir = folder(null);
        Files.createSymbolicLink(dir.resolve("latest"), Path.of("/dev/zero"));
        assertThatThrownBy(() -> SatCheckpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("latest").hasMessageContaining("a FIFO, device or socket");
    }

    @Test
    void latestAsAFifoIsRefusedAtOnce() throws Exception {
        Path dir = folder(null);
        Path fifo = dir.resolve("latest");
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo not available");
            return;
        }
        assumeTrue(p.waitFor() == 0 && Files.exists(fifo));
        assertThatThrownBy(() -> SatCheckpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("latest").hasMessageContaining("a FIFO, device or socket");
    }

    @Test
    void latestWithNulBytesOrAFolderIsRefused() throws IOException {
        Path dir = folder("1\0\0".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> SatCheckpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("latest").hasMessageContaining("control byte 0x0");
        Files.delete(dir.resolve("latest"));
        Files.createDirectory(dir.resolve("latest"));
        assertThatThrownBy(() -> SatCheckpoint.open(dir)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("is a folder");
    }

    // ------------------------------------------------------------------ zip structure

    /** A minimal stored-entry zip written by hand, so that offsets and counts can be forged. */
    private static final class RawZip {
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final ByteArrayOutputStream cd = new ByteArrayOutputStream();
        private int count;

        /** Writes a local header + data; returns the header's offset. */
        int local(String name, byte[] data) {
            int off = body.size();
            body.writeBytes(localHeader(name, data));
            body.writeBytes(data);
            return off;
        }

        static byte[] localHeader(String name, byte[] data) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(30 + n.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0).putInt(0)
                    .putInt((int) crc(data)).putInt(data.length).putInt(data.length).putShort((short) n.length)
                    .putShort((short) 0).put(n);
            return b.array();
        }

        void central(String name, byte[] data, int offset) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(46 + n.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                    .putInt(0).putInt((int) crc(data)).putInt(data.length).putInt(data.length)
                    .putShort((short) n.length).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putInt(0).putInt(offset).put(n);
            cd.writeBytes(b.array());
            count++;
        }

        void entry(String name, byte[] data) {
            central(name, data, local(name, data));
        }

        byte[] bytes(int declaredCount) {
            ByteBuffer e = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
            e.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) declaredCount)
                    .putShort((short) declaredCount).putInt(cd.size()).putInt(body.size()).putShort((short) 0);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.writeBytes(body.toByteArray());
            all.writeBytes(cd.toByteArray());
            all.writeBytes(e.array());
            return all.toByteArray();
        }

        int count() {
            return count;
        }

        private static long crc(byte[] d) {
            CRC32 c = new CRC32();
            c.update(d);
            return c.getValue();
        }
    }

    private static byte[] tensorPickle() {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().str("module")
                .global("collections", "OrderedDict").emptyTuple().reduce().mark();
        w.str("a").tensor("FloatStorage", "0", 2).str("b").tensor("FloatStorage", "1", 2);
        return w.setitems().setitem().stop().bytes();
    }

    @Test
    void soundHandWrittenZipIsRead() throws IOException {
        RawZip z = new RawZip();
        z.entry("archive/data.pkl", tensorPickle());
        z.entry("archive/data/0", TorchZip.floats(1, 2));
        z.entry("archive/data/1", TorchZip.floats(3, 4));
        Path pt = Files.write(tmp.resolve("ok.pt"), z.bytes(z.count()));
        try (StateDict sd = TorchCheckpointReader.readModule(pt)) {
            assertThat(sd.require("b", 2).toFloatArray()).containsExactly(3, 4);
        }
    }

    @Test
    void entriesPointingAtOverlappingBytesAreRefused() throws IOException {
        RawZip z = new RawZip();
        z.entry("archive/data.pkl", tensorPickle());
        // entry 0's data holds a complete local header + data for entry 1: its bytes alias entry 0's
        byte[] inner = TorchZip.floats(7, 8);
        byte[] innerHeader = RawZip.localHeader("archive/data/1", inner);
        ByteArrayOutputStream outer = new ByteArrayOutputStream();
        outer.writeBytes(TorchZip.floats(1, 2));
        int innerAt = outer.size();
        outer.writeBytes(innerHeader);
        outer.writeBytes(inner);
        byte[] outerData = outer.toByteArray();
        int off0 = z.local("archive/data/0", outerData);
        z.central("archive/data/0", outerData, off0);
        z.central("archive/data/1", inner, off0 + 30 + "archive/data/0".length() + innerAt);
        Path pt = Files.write(tmp.resolve("overlap.pt"), z.bytes(z.count()));
        assertThatThrownBy(() -> TorchCheckpointReader.read(pt)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString()).hasMessageContaining("overlap")
                .hasMessageContaining("archive/data/1");
    }

    @Test
    void endRecordLyingAboutTheEntryCountIsRefused() throws IOException {
        RawZip z = new RawZip();
        z.entry("archive/data.pkl", tensorPickle());
        z.entry("archive/data/0", TorchZip.floats(1, 2));
        z.entry("archive/data/1", TorchZip.floats(3, 4));
        Path pt = Files.write(tmp.resolve("count.pt"), z.bytes(2));
        assertThatThrownBy(() -> TorchCheckpointReader.read(pt)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString()).hasMessageContaining("the 2 the end record declares");
    }

    @Test
    void corruptZipsLeakNoFileDescriptor() throws IOException {
        Path fds = Path.of("/proc/self/fd");
        assumeTrue(Files.isDirectory(fds));
        RawZip z = new RawZip();
        z.entry("archive/data.pkl", tensorPickle());
        byte[] good = z.bytes(z.count());
        byte[] bad = good.clone();
        bad[good.length - 6] ^= 0x10; // the directory offset of the end record now points at no header
        Path pt = Files.write(tmp.resolve("leak.pt"), bad);
        long before;
        try (var s = Files.list(fds)) {
            before = s.count();
        }
        for (int i = 0; i < 50; i++) {
            assertThatThrownBy(() -> TorchCheckpointReader.read(pt)).isInstanceOf(CheckpointException.class);
        }
        try (var s = Files.list(fds)) {
            assertThat(s.count()).isLessThanOrEqualTo(before);
        }
    }

    @Test
    void zstdCompressedPickleIsRefusedByMethodNotByNoClassDefFoundError() throws IOException {
        RawZip z = new RawZip();
        z.entry("archive/data.pkl", tensorPickle());
        z.entry("archive/data/0", TorchZip.floats(1, 2));
        z.entry("archive/data/1", TorchZip.floats(3, 4));
        byte[] bytes = z.bytes(z.count());
        // method field (offset 8) of the first local header and of the first central record: 93 = zstd
        bytes[8] = 93;
        int cd = ByteBuffer.wrap(bytes, bytes.length - 6, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        bytes[cd + 10] = 93;
        Path pt = Files.write(tmp.resolve("zstd.pt"), bytes);
        assertThatThrownBy(() -> TorchCheckpointReader.read(pt)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString()).hasMessageContaining("compression method 93");
    }

    @Test
    void checkpointThatIsAFolderIsRefused() {
        assertThatThrownBy(() -> TorchCheckpointReader.read(tmp)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("is a folder");
    }
}
