package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.DType;
import io.cogvideo.spi.TensorData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crafted valid checkpoints: every dtype, shared storages, offsets, odd shapes, protocol-4 opcodes. */
class TorchCheckpointReaderTest {
    @TempDir
    Path tmp;

    private static byte[] bytes(int elemSize, ByteOrder order, java.util.function.Consumer<ByteBuffer> fill, int n) {
        ByteBuffer b = ByteBuffer.allocate(elemSize * n).order(order);
        fill.accept(b);
        return b.array();
    }

    @Test
    void everyDtypeSharedStoragesAndOddShapes() throws IOException {
        PickleWriter w = new PickleWriter().proto(4).op(0x95).raw(0, 0, 0, 0, 0, 0, 0, 0);
        w.emptyDict().memoize().mark();
        w.shortStr("module").memoize().stackGlobal("collections", "OrderedDict").memoize().emptyTuple().reduce();
        w.mark();
        w.shortStr("f32").tensor("FloatStorage", "0", 2, 3);
        w.shortStr("f64").tensor("DoubleStorage", "1", 2);
        w.shortStr("i64").tensor("LongStorage", "2", 3);
        w.shortStr("i32").tensor("IntStorage", "3", 2);
        w.shortStr("i8").tensor("CharStorage", "4", 3);
        w.shortStr("u8").tensor("ByteStorage", "5", 3);
        w.shortStr("bool").tensor("BoolStorage", "6", 2);
        w.shortStr("bf16").tensor("BFloat16Storage", "7", 2);
        w.shortStr("f16").tensor("HalfStorage", "8", 2);
        w.shortStr("view_a").tensor("FloatStorage", "9", 6, 0, new long[] {2}, new long[] {1});
        w.shortStr("view_b").tensor("FloatStorage", "9", 6, 2, new long[] {2, 2}, new long[] {2, 1});
        w.shortStr("scalar").tensor("FloatStorage", "10", 1, 0, new long[] {}, new long[] {});
        w.shortStr("empty").tensor("FloatStorage", "11", 0, 0, new long[] {0, 5}, new long[] {7, 3});
        w.shortStr("size1").tensor("FloatStorage", "12", 3, 0, new long[] {1, 3}, new long[] {999, 1});
        w.shortStr("param").global("torch._utils", "_rebuild_parameter").mark();
        w.tensor("FloatStorage", "13", 2).bool(true).binget(2).emptyTuple().reduce().tuple().reduce();
        w.setitems();
        // OrderedDict state (_metadata) applied with BUILD: must not become a state-dict entry
        w.emptyDict().shortStr("_metadata").emptyDict().setitem().build();
        w.shortStr("iteration").integer(5);
        w.shortStr("shape").global("torch", "Size").ints(3, 4).tuple1().reduce();
        w.shortStr("names").global("builtins", "set").emptyList().shortStr("a").append().tuple1().reduce();
        w.setitems().stop();

        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        Path pt = new TorchZip("archive").pickle(w)
                .storage("0", TorchZip.floats(1, 2, 3, 4, 5, 6))
                .storage("1", bytes(8, le, b -> b.putDouble(0.25).putDouble(-1e300), 2))
                .storage("2", TorchZip.longs(Long.MIN_VALUE, 0, Long.MAX_VALUE))
                .storage("3", bytes(4, le, b -> b.putInt(-7).putInt(70000), 2))
                .storage("4", new byte[] {-128, 0, 127})
                .storage("5", new byte[] {0, (byte) 200, (byte) 255})
                .storage("6", new byte[] {1, 0})
                .storage("7", bytes(2, le, b -> b.putShort((short) 0x3FC0).putShort((short) 0xC000), 2))
                .storage("8", bytes(2, le, b -> b.putShort((short) 0x3E00).putShort((short) 0xBC00), 2))
                .storage("9", TorchZip.floats(10, 11, 12, 13, 14, 15))
                .storage("10", TorchZip.floats(42))
                .storage("11", new byte[0])
                .storage("12", TorchZip.floats(7, 8, 9))
                .storage("13", TorchZip.floats(-1, 1))
                .write(tmp.resolve("all.pt"));

        TorchCheckpoint ckpt = TorchCheckpointReader.read(pt);
        assertThat(ckpt.archiveName()).isEqualTo("archive");
        StateDict sd = ckpt.stateDict("module");
        assertThat(sd.keys()).containsExactly("f32", "f64", "i64", "i32", "i8", "u8", "bool", "bf16", "f16",
                "view_a", "view_b", "scalar", "empty", "size1", "param");
        assertThat(sd.source()).isEqualTo(pt);

        assertThat(sd.require("f32", 2, 3).toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
        TensorData f64 = sd.require("f64", 2);
        assertThat(f64.dtype()).isEqualTo(DType.FLOAT64);
        assertThat(f64.data().getDouble(8)).isEqualTo(-1e300);
        TensorData i64 = sd.require("i64", 3);
        assertThat(i64.dtype()).isEqualTo(DType.INT64);
        assertThat(i64.data().getLong(0)).isEqualTo(Long.MIN_VALUE);
        assertThat(i64.data().getLong(16)).isEqualTo(Long.MAX_VALUE);
        assertThat(sd.get("i32").data().getInt(4)).isEqualTo(70000);
        assertThat(sd.get("i8").dtype()).isEqualTo(DType.INT8);
        assertThat(sd.get("i8").data().get(0)).isEqualTo((byte) -128);
        assertThat(sd.get("u8").dtype()).isEqualTo(DType.UINT8);
        assertThat(sd.get("u8").data().get(1) & 0xff).isEqualTo(200);
        assertThat(sd.get("bool").dtype()).isEqualTo(DType.BOOL);
        assertThat(sd.get("bf16").dtype()).isEqualTo(DType.BFLOAT16);
        assertThat(sd.get("bf16").toFloatArray()).containsExactly(1.5f, -2f);
        assertThat(sd.get("f16").toFloatArray()).containsExactly(1.5f, -1f);
        assertThat(sd.require("view_a", 2).toFloatArray()).containsExactly(10, 11);
        assertThat(sd.require("view_b", 2, 2).toFloatArray()).containsExactly(12, 13, 14, 15);
        assertThat(sd.require("scalar").toFloatArray()).containsExactly(42);
        assertThat(sd.require("empty", 0, 5).numel()).isZero();
        assertThat(sd.require("size1", 1, 3).toFloatArray()).containsExactly(7, 8, 9);
        assertThat(sd.require("param", 2).toFloatArray()).containsExactly(-1, 1);

        Map<?, ?> root = (Map<?, ?>) ckpt.root();
        assertThat(root.get("iteration")).isEqualTo(5);
        assertThat((Object[]) root.get("shape")).containsExactly(3, 4);
        assertThat(root.get("names")).isEqualTo(java.util.Set.of("a"));
        TorchTensorRef ref = (TorchTensorRef) ((Map<?, ?>) root.get("module")).get("view_b");
        assertThat(ref.storage().key()).isEqualTo("9");
        assertThat(ref.storageOffset()).isEqualTo(2);
        assertThat(ref.storage().storageType()).isEqualTo(new PickleGlobal("torch", "FloatStorage"));
        assertThat(ref.storage().dtype()).isEqualTo(DType.FLOAT32);
    }

    @Test
    void plainDictModuleAndRootPrefixedArchive() throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().str("module").emptyDict();
        w.str("a").tensor("FloatStorage", "0", 1).setitem().setitem().stop();
        Path pt = new TorchZip("ice_image_tiny").pickle(w).storage("0", TorchZip.floats(3))
                .write(tmp.resolve("ice.pt"));
        try (StateDict sd = TorchCheckpointReader.readModule(pt)) {
            assertThat(sd.get("a").toFloatArray()).containsExactly(3);
        }
    }
}
