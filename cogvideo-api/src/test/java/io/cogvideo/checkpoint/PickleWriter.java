package io.cogvideo.checkpoint;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Test helper: writes pickle opcodes by hand, so tests can craft exactly the (hostile) pickles they need. */
final class PickleWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleWriter proto(int version) {
        return op(0x80).raw(version);
    }

    PickleWriter raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    PickleWriter op(int opcode) {
        out.write(opcode);
        return this;
    }

    private PickleWriter int32(long v) {
        return raw((int) v & 0xff, (int) (v >>> 8) & 0xff, (int) (v >>> 16) & 0xff, (int) (v >>> 24) & 0xff);
    }

    private PickleWriter ascii(String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** GLOBAL {@code module name}. */
    PickleWriter global(String module, String name) {
        return op('c').ascii(module + "\n" + name + "\n");
    }

    /** STACK_GLOBAL (protocol 4) with the two strings pushed first. */
    PickleWriter stackGlobal(String module, String name) {
        return shortStr(module).shortStr(name).op(0x93);
    }

    /** BINUNICODE. */
    PickleWriter str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X').int32(b.length);
        out.writeBytes(b);
        return this;
    }

    /** SHORT_BINUNICODE (protocol 4). */
    PickleWriter shortStr(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op(0x8c).raw(b.length);
        out.writeBytes(b);
        return this;
    }

    /** BINUNICODE whose length field claims {@code claimed} bytes (followed by nothing). */
    PickleWriter forgedStr(long claimed) {
        return op('X').int32(claimed);
    }

    /** BININT1 / BININT / LONG1 as needed. */
    PickleWriter integer(long v) {
        if (v >= 0 && v < 256) {
            return op('K').raw((int) v);
        }
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            return op('J').int32(v);
        }
        op(0x8a).raw(8);
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
        return this;
    }

    PickleWriter ints(long... values) {
        mark();
        for (long v : values) {
            integer(v);
        }
        return tuple();
    }

    PickleWriter floating(double d) {
        op('G');
        long bits = Double.doubleToRawLongBits(d);
        for (int i = 7; i >= 0; i--) {
            out.write((int) (bits >>> (8 * i)) & 0xff);
        }
        return this;
    }

    PickleWriter bool(boolean b) {
        return op(b ? 0x88 : 0x89);
    }

    PickleWriter none() {
        return op('N');
    }

    PickleWriter mark() {
        return op('(');
    }

    PickleWriter tuple() {
        return op('t');
    }

    PickleWriter emptyTuple() {
        return op(')');
    }

    PickleWriter tuple1() {
        return op(0x85);
    }

    PickleWriter emptyDict() {
        return op('}');
    }

    PickleWriter emptyList() {
        return op(']');
    }

    PickleWriter setitem() {
        return op('s');
    }

    PickleWriter setitems() {
        return op('u');
    }

    PickleWriter append() {
        return op('a');
    }

    PickleWriter reduce() {
        return op('R');
    }

    PickleWriter newobj() {
        return op(0x81);
    }

    PickleWriter build() {
        return op('b');
    }

    PickleWriter binpersid() {
        return op('Q');
    }

    PickleWriter binput(int i) {
        return op('q').raw(i);
    }

    PickleWriter binget(int i) {
        return op('h').raw(i);
    }

    PickleWriter memoize() {
        return op(0x94);
    }

    PickleWriter stop() {
        return op('.');
    }

    /** {@code module.name(*args)} with string arguments, via GLOBAL + REDUCE. */
    PickleWriter call(String module, String name, String... args) {
        global(module, name).mark();
        for (String a : args) {
            str(a);
        }
        return tuple().reduce();
    }

    /** The persistent id {@code ('storage', torch.<storageClass>, key, 'cpu', numel)} loaded with BINPERSID. */
    PickleWriter storage(String storageClass, String key, long numel) {
        return mark().str("storage").global("torch", storageClass).str(key).str("cpu").integer(numel).tuple()
                .binpersid();
    }

    /** {@code torch._utils._rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())}. */
    PickleWriter tensor(String storageClass, String key, long storageNumel, long offset, long[] shape,
            long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(storageClass, key, storageNumel).integer(offset).ints(shape).ints(stride).bool(false);
        global("collections", "OrderedDict").emptyTuple().reduce();
        return tuple().reduce();
    }

    /** A contiguous tensor covering a whole storage of {@code prod(shape)} elements. */
    PickleWriter tensor(String storageClass, String key, long... shape) {
        long[] stride = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = acc;
            acc *= shape[i];
        }
        return tensor(storageClass, key, acc, 0, shape, stride);
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
