package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Broken or forged checkpoints: each must fail with a specific CheckpointException naming the file. */
class TorchCheckpointValidationTest {
    @TempDir
    Path tmp;

    /** {'module': {'w': <tensor written by body>}, 'iteration': 1} */
    private static PickleWriter moduleWith(Consumer<PickleWriter> tensor) {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark();
        w.str("module").emptyDict().str("w");
        tensor.accept(w);
        w.setitem().str("iteration").integer(1).setitems().stop();
        return w;
    }

    private Path write(String name, PickleWriter w, String storageKey, byte[] storage) throws IOException {
        return new TorchZip("archive").pickle(w).storage(storageKey, storage).write(tmp.resolve(name));
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertModuleFails(Path pt) {
        return assertThatThrownBy(() -> TorchCheckpointReader.readModule(pt))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString())
                .satisfies(e -> assertThat(((CheckpointException) e).file()).isEqualTo(pt));
    }

    private Path valid() throws IOException {
        return write("valid.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 2, 2)), "0",
                TorchZip.floats(1, 2, 3, 4));
    }

    @Test
    void validReferenceCheckpointLoads() throws IOException {
        StateDict sd = TorchCheckpointReader.readModule(valid());
        assertThat(sd.require("w", 2, 2).toFloatArray()).containsExactly(1, 2, 3, 4);
    }

    @Test
    void missingFile() {
        Path pt = tmp.resolve("nope.pt");
        assertModuleFails(pt).hasMessageContaining("no such file");
    }

    @Test
    void notAZip() throws IOException {
        Path pt = Files.writeString(tmp.resolve("text.pt"), "hello, I am not a checkpoint");
        assertModuleFails(pt).hasMessageContaining("not a zip archive");
    }

    @Test
    void legacyTorchSaveFormatIsNamed() throws IOException {
        Path pt = Files.write(tmp.resolve("legacy.pt"), new PickleWriter().proto(2).integer(119547037).stop().bytes());
        assertModuleFails(pt).hasMessageContaining("legacy");
    }

    @Test
    void truncatedZip() throws IOException {
        byte[] all = Files.readAllBytes(valid());
        Path pt = Files.write(tmp.resolve("truncated.pt"), Arrays.copyOf(all, all.length / 2));
        assertModuleFails(pt).hasMessageContaining("truncated or corrupt zip");
    }

    @Test
    void zipWithoutDataPkl() throws IOException {
        Path pt = new TorchZip("archive").storage("0", TorchZip.floats(1)).write(tmp.resolve("nopkl.pt"));
        assertModuleFails(pt).hasMessageContaining("no data.pkl");
    }

    @Test
    void missingModuleEntryListsTopLevelKeys() throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark();
        w.str("state_dict").emptyDict().str("w").tensor("FloatStorage", "0", 1).setitem();
        w.str("iteration").integer(3).setitems().stop();
        Path pt = write("nomodule.pt", w, "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("no 'module' entry")
                .hasMessageContaining("'state_dict'").hasMessageContaining("'iteration'");
        assertThat(TorchCheckpointReader.read(pt).stateDict("state_dict").size()).isEqualTo(1);
    }

    @Test
    void nonTensorValueInModule() throws IOException {
        Path pt = write("int.pt", moduleWith(w -> w.integer(5)), "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("'w'").hasMessageContaining("integer 5, not a tensor");
    }

    @Test
    void truncatedPickle() throws IOException {
        byte[] pkl = moduleWith(w -> w.tensor("FloatStorage", "0", 2, 2)).bytes();
        for (int cut : new int[] {1, pkl.length / 3, pkl.length / 2, pkl.length - 1}) {
            PickleWriter w = new PickleWriter().raw(toInts(Arrays.copyOf(pkl, cut)));
            Path pt = write("cut" + cut + ".pt", w, "0", TorchZip.floats(1, 2, 3, 4));
            assertModuleFails(pt).hasMessageContaining("pickle");
        }
    }

    @Test
    void forgedStringLengthDoesNotAllocate() throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().forgedStr(0x7fffffffL);
        Path pt = write("forged.pt", w, "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("BINUNICODE declares 2147483647 bytes");
        PickleWriter w8 = new PickleWriter().proto(4).op(0x8e).raw(0, 0, 0, 0, 0, 0, 0, 0x40);
        Path pt8 = write("forged8.pt", w8, "0", TorchZip.floats(1));
        assertModuleFails(pt8).hasMessageContaining("BINBYTES8 declares");
    }

    @Test
    void hugeTensorOnTinyStorage() throws IOException {
        long n = 1L << 20;
        Path pt = write("huge.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 1, 0, new long[] {n, n},
                new long[] {n, 1})), "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("storage '0' declares only 1 elements");
    }

    @Test
    void hugeStorageDeclarationBeyondEntryBytes() throws IOException {
        long n = 1L << 20;
        Path pt = write("hugestorage.pt", moduleWith(w -> w.tensor("FloatStorage", "0", n * n, 0,
                new long[] {n, n}, new long[] {n, 1})), "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("declares " + n * n + " elements")
                .hasMessageContaining("holds only 4 bytes");
    }

    @Test
    void elementCountOverflow() throws IOException {
        long d = Integer.MAX_VALUE;
        Path pt = write("overflow.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 1, 0, new long[] {d, d, d},
                new long[] {d * d, d, 1})), "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("overflows");
    }

    @Test
    void negativeAndAbsurdDimensions() throws IOException {
        Path neg = write("neg.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 4, 0, new long[] {-1, 4},
                new long[] {4, 1})), "0", TorchZip.floats(1, 2, 3, 4));
        assertModuleFails(neg).hasMessageContaining("negative or absurd dimension -1");
        Path big = write("big.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 4, 0, new long[] {1L << 40},
                new long[] {1})), "0", TorchZip.floats(1, 2, 3, 4));
        assertModuleFails(big).hasMessageContaining("negative or absurd dimension " + (1L << 40));
    }

    @Test
    void nonContiguousStrides() throws IOException {
        Path pt = write("transposed.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 6, 0, new long[] {2, 3},
                new long[] {1, 2})), "0", TorchZip.floats(1, 2, 3, 4, 5, 6));
        assertModuleFails(pt).hasMessageContaining("non-contiguous strides [1, 2]").hasMessageContaining("[3, 1]");
    }

    @Test
    void offsetPlusSizeBeyondStorage() throws IOException {
        Path pt = write("offset.pt", moduleWith(w -> w.tensor("FloatStorage", "0", 4, 3, new long[] {2},
                new long[] {1})), "0", TorchZip.floats(1, 2, 3, 4));
        assertModuleFails(pt).hasMessageContaining("needs elements [3, 5)");
    }

    @Test
    void storageEntryMissing() throws IOException {
        Path pt = write("nostorage.pt", moduleWith(w -> w.tensor("FloatStorage", "7", 1)), "0", TorchZip.floats(1));
        assertModuleFails(pt).hasMessageContaining("storage entry 'archive/data/7' is missing");
    }

    @Test
    void compressedStorageEntry() throws IOException {
        Path pt = new TorchZip("archive").pickle(moduleWith(w -> w.tensor("FloatStorage", "0", 4)))
                .deflatedStorage("0", TorchZip.floats(1, 2, 3, 4)).write(tmp.resolve("deflated.pt"));
        assertModuleFails(pt).hasMessageContaining("is compressed");
    }

    @Test
    void unsupportedStorageType() throws IOException {
        Path pt = write("short.pt", moduleWith(w -> w.tensor("ShortStorage", "0", 2)), "0", new byte[4]);
        assertModuleFails(pt).hasMessageContaining("torch.ShortStorage").hasMessageContaining("not supported");
    }

    @Test
    void malformedPersistentId() throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().str("module").str("not a storage id").binpersid()
                .setitem().stop();
        Path pt = write("pid.pt", w, "0", new byte[4]);
        assertModuleFails(pt).hasMessageContaining("unsupported persistent id");
    }

    @Test
    void bigEndianCheckpointIsRefused() throws IOException {
        Path pt = new TorchZip("archive").pickle(moduleWith(w -> w.tensor("FloatStorage", "0", 1)))
                .storage("0", TorchZip.floats(1)).extra("byteorder", "big".getBytes(StandardCharsets.US_ASCII))
                .write(tmp.resolve("be.pt"));
        assertModuleFails(pt).hasMessageContaining("'big' byte order");
    }

    @Test
    void unhashableDictKeyIsRefused() throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().emptyList().str("v").setitem().stop();
        Path pt = write("unhashable.pt", w, "0", new byte[4]);
        assertModuleFails(pt).hasMessageContaining("unhashable list");
    }

    @Test
    void opcodeBudgetBoundsTheWorkAPickleCanCause() throws IOException {
        int pairs = (int) (ReadLimits.BUILT_IN.pickleObjects() / 2) + 1;
        int[] body = new int[2 + pairs * 2];
        body[0] = 0x80;
        body[1] = 2;
        for (int i = 0; i < pairs; i++) {
            body[2 + 2 * i] = 'N';     // NONE
            body[3 + 2 * i] = '0';     // POP
        }
        Path pt = write("busy.pt", new PickleWriter().raw(body).none().stop(), "0", new byte[4]);
        assertModuleFails(pt).hasMessageContaining("more than " + ReadLimits.BUILT_IN.pickleObjects()
                + " (-Dcogvideo.limits.pickleObjects) objects");
    }

    @Test
    void selfReferentialValueIsDescribedWithoutRecursion() throws IOException {
        Path pt = write("cycle.pt", moduleWith(w -> w.emptyList().binput(9).binget(9).append()), "0", new byte[4]);
        TorchCheckpoint ckpt = TorchCheckpointReader.read(pt);
        java.util.List<?> cyclic = (java.util.List<?>) ((java.util.Map<?, ?>) ((java.util.Map<?, ?>) ckpt.root())
                .get("module")).get("w");
        assertThat(cyclic.get(0)).isSameAs(cyclic);
        assertModuleFails(pt).hasMessageContaining("'w'").hasMessageContaining("list of 1, not a tensor");
    }

    private static int[] toInts(byte[] b) {
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xff;
        }
        return out;
    }
}
