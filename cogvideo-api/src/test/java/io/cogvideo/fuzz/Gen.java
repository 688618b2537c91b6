package io.cogvideo.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * Structure-aware generators for the fuzz suite: pickle opcode streams, zip records (torch.save archives), {@code .npy}
 * headers, SentencePiece protobuf fields and picture headers. Each builds mostly well-formed input with chosen
 * defects, so that the readers' deeper checks are reached, not only their magic-number tests.
 */
final class Gen {
    private Gen() {
    }

    // ------------------------------------------------------------------ pickle

    static final String[][] GLOBALS = {
        {"collections", "OrderedDict"}, {"torch._utils", "_rebuild_tensor_v2"}, {"torch._utils", "_rebuild_parameter"},
        {"builtins", "set"}, {"builtins", "frozenset"}, {"torch", "Size"}, {"torch", "FloatStorage"},
        {"torch", "LongStorage"}, {"torch", "HalfStorage"}, {"os", "system"}, {"builtins", "eval"},
        {"subprocess", "Popen"}, {"__builtin__", "set"}, {"torch", "UntypedStorage"}};

    /** Number of distinct pickle "instructions" {@link #pickle} knows. */
    static final int PICKLE_OPS = 40;

    /** A pickle: PROTO 2, then the instructions (each an opcode with generated arguments), then STOP. */
    static byte[] pickle(List<Integer> ops, SplittableRandom rnd) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0x80);
        o.write(2 + rnd.nextInt(4));
        for (int op : ops) {
            switch (op) {
                case 0 -> o.write('}');
                case 1 -> o.write(']');
                case 2 -> o.write(')');
                case 3 -> o.write('(');
                case 4 -> o.write('t');
                case 5 -> o.write(0x85);
                case 6 -> o.write(0x86);
                case 7 -> o.write(0x87);
                case 8 -> o.write('l');
                case 9 -> o.write('d');
                case 10 -> o.write('a');
                case 11 -> o.write('e');
                case 12 -> o.write('s');
                case 13 -> o.write('u');
                case 14 -> {
                    o.write('K');
                    o.write(rnd.nextInt(256));
                }
                case 15 -> {
                    o.write('J');
                    o.writeBytes(le32(pick(rnd, 0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, rnd.nextInt())));
                }
                case 16 -> {
                    o.write(0x8a);
                    int n = rnd.nextInt(10);
                    o.write(n);
                    for (int i = 0; i < n; i++) {
                        o.write(rnd.nextInt(256));
                    }
                }
                case 17 -> o.write('N');
                case 18 -> o.write(0x88);
                case 19 -> str(o, pickString(rnd));
                case 20 -> {
                    String[] g = GLOBALS[rnd.nextInt(GLOBALS.length)];
                    o.write('c');
                    o.writeBytes((g[0] + "\n" + g[1] + "\n").getBytes(StandardCharsets.UTF_8));
                }
                case 21 -> {
                    String[] g = GLOBALS[rnd.nextInt(GLOBALS.length)];
                    shortStr(o, g[0]);
                    shortStr(o, g[1]);
                    o.write(0x93);
                }
                case 22 -> o.write('R');
                case 23 -> o.write(0x81);
                case 24 -> o.write('b');
                case 25 -> {
                    o.write('q');
                    o.write(rnd.nextInt(8));
                }
                case 26 -> {
                    o.write('h');
                    o.write(rnd.nextInt(8));
                }
                case 27 -> o.write(0x94);
                case 28 -> {
                    // a storage persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
                    o.write('(');
                    str(o, "storage");
                    o.write('c');
                    o.writeBytes("torch\nFloatStorage\n".getBytes(StandardCharsets.UTF_8));
                    str(o, rnd.nextBoolean() ? "0" : pickString(rnd));
                    str(o, "cpu");
                    o.write('J');
                    o.writeBytes(le32(pick(rnd, 2, 0, -1, 1 << 30, rnd.nextInt(64))));
                    o.write('t');
                    o.write('Q');
                }
                case 29 -> o.write('0');
                case 30 -> o.write('2');
                case 31 -> o.write(0x91);
                case 32 -> o.write(0x8f);
                case 33 -> o.write(0x90);
                case 34 -> {
                    // BINUNICODE with a forged length
                    o.write('X');
                    o.writeBytes(le32(pick(rnd, -1, Integer.MAX_VALUE, 1 << 20, rnd.nextInt(100))));
                }
                case 35 -> o.write('1');
                case 36 -> o.write('.');
                case 37 -> o.write(rnd.nextInt(256));
                case 38 -> {
                    // a whole valid tensor: _rebuild_tensor_v2(storage, 0, (2,), (1,), False, OrderedDict())
                    tensor(o, rnd);
                }
                default -> {
                    o.write('G');
                    o.writeBytes(ByteBuffer.allocate(8).putDouble(pick(rnd, Double.NaN, 1e30, -0.0, 2.5)).array());
                }
            }
        }
        o.write('.');
        return o.toByteArray();
    }

    /** {@code {'module': OrderedDict(w=tensor)}}: a valid state dict, as a base for mutations. */
    static byte[] validPickle(SplittableRandom rnd) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0x80);
        o.write(2);
        o.write('}');
        str(o, "module");
        o.write('c');
        o.writeBytes("collections\nOrderedDict\n".getBytes(StandardCharsets.UTF_8));
        o.write(')');
        o.write('R');
        str(o, "w");
        tensor(o, rnd);
        o.write('s');
        o.write('s');
        o.write('.');
        return o.toByteArray();
    }

    private static void tensor(ByteArrayOutputStream o, SplittableRandom rnd) {
        o.write('c');
        o.writeBytes("torch._utils\n_rebuild_tensor_v2\n".getBytes(StandardCharsets.UTF_8));
        o.write('(');
        o.write('(');
        str(o, "storage");
        o.write('c');
        o.writeBytes("torch\nFloatStorage\n".getBytes(StandardCharsets.UTF_8));
        str(o, "0");
        str(o, "cpu");
        o.write('K');
        o.write(2);
        o.write('t');
        o.write('Q');
        o.write('K');
        o.write(0);
        o.write('K');
        o.write(rnd.nextInt(4));
        o.write(0x85);
        o.write('K');
        o.write(1);
        o.write(0x85);
        o.write(0x89);
        o.write('c');
        o.writeBytes("collections\nOrderedDict\n".getBytes(StandardCharsets.UTF_8));
        o.write(')');
        o.write('R');
        o.write('t');
        o.write('R');
    }

    private static String pickString(SplittableRandom rnd) {
        String[] s = {"module", "w", "0", "storage", "cpu", "", "../x", "a/b", "\u00e9", "x".repeat(300)};
        return s[rnd.nextInt(s.length)];
    }

    private static void str(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.write('X');
        o.writeBytes(le32(b.length));
        o.writeBytes(b);
    }

    private static void shortStr(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.write(0x8c);
        o.write(b.length);
        o.writeBytes(b);
    }

    // ------------------------------------------------------------------ zip

    /** One zip entry to write: name, stored data, and where its central record claims it is. */
    record ZipEntrySpec(String name, byte[] data, String localName) {
    }

    /**
     * A torch.save zip of stored entries with chosen defects: {@code defect} 0 = none, 1 = a central offset moved,
     * 2 = entry count changed, 3 = directory offset/size changed, 4 = a local name changed, 5 = a duplicated name,
     * 6 = a central record's sizes changed, 7 = an entry aliased onto another, 8 = a zip64 locator of garbage.
     */
    static byte[] torchZip(byte[] pickle, int defect, SplittableRandom rnd) {
        List<ZipEntrySpec> entries = new ArrayList<>();
        entries.add(new ZipEntrySpec("archive/data.pkl", pickle, "archive/data.pkl"));
        entries.add(new ZipEntrySpec("archive/data/0", le32(0x3f800000, 0x40000000), "archive/data/0"));
        entries.add(new ZipEntrySpec("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII), "archive/version"));
        if (rnd.nextInt(4) == 0) {
            entries.add(new ZipEntrySpec("archive/byteorder", (rnd.nextBoolean() ? "little" : "big")
                    .getBytes(StandardCharsets.US_ASCII), "archive/byteorder"));
        }
        if (defect == 4) {
            int i = rnd.nextInt(entries.size());
            ZipEntrySpec e = entries.get(i);
            entries.set(i, new ZipEntrySpec(e.name(), e.data(), e.name() + "x"));
        }
        if (defect == 5) {
            ZipEntrySpec e = entries.get(rnd.nextInt(entries.size()));
            entries.add(new ZipEntrySpec(e.name(), e.data(), e.name()));
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        ByteArrayOutputStream cd = new ByteArrayOutputStream();
        long[] offsets = new long[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            offsets[i] = body.size();
            ZipEntrySpec e = entries.get(i);
            body.writeBytes(local(e.localName(), e.data()));
            body.writeBytes(e.data());
        }
        int moved = defect == 1 || defect == 7 ? rnd.nextInt(entries.size()) : -1;
        for (int i = 0; i < entries.size(); i++) {
            ZipEntrySpec e = entries.get(i);
            long off = offsets[i];
            if (i == moved) {
                off = defect == 7 ? offsets[rnd.nextInt(entries.size())] : Math.max(0, off + rnd.nextInt(-40, 40));
            }
            int size = e.data().length;
            if (defect == 6 && rnd.nextBoolean()) {
                size = pick(rnd, -1, size + 1, size * 1000, 0);
            }
            cd.writeBytes(central(e.name(), e.data(), size, (int) off));
        }
        int count = entries.size();
        int cdOffset = body.size();
        int cdSize = cd.size();
        if (defect == 2) {
            count = pick(rnd, count - 1, count + 1, 0, 0xffff);
        }
        if (defect == 3) {
            if (rnd.nextBoolean()) {
                cdOffset += rnd.nextInt(-30, 30);
            } else {
                cdSize += rnd.nextInt(-30, 30);
            }
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(body.toByteArray());
        all.writeBytes(cd.toByteArray());
        if (defect == 8) {
            ByteBuffer loc = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
            loc.putInt(0x07064b50).putInt(0).putLong(rnd.nextLong(-10, 1L << 40)).putInt(1);
            all.writeBytes(loc.array());
        }
        ByteBuffer eocd = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
        eocd.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count)
                .putShort((short) count).putInt(cdSize).putInt(cdOffset).putShort((short) 0);
        all.writeBytes(eocd.array());
        return all.toByteArray();
    }

    private static byte[] local(String name, byte[] data) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(30 + n.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0).putInt(0)
                .putInt((int) crc(data)).putInt(data.length).putInt(data.length).putShort((short) n.length)
                .putShort((short) 0).put(n);
        return b.array();
    }

    private static byte[] central(String name, byte[] data, int size, int offset) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(46 + n.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                .putInt(0).putInt((int) crc(data)).putInt(size).putInt(size).putShort((short) n.length)
                .putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0)
                .putInt(offset).put(n);
        return b.array();
    }

    private static long crc(byte[] d) {
        CRC32 c = new CRC32();
        c.update(d);
        return c.getValue();
    }

    // ------------------------------------------------------------------ npy

    static final String[] DESCRS = {"<i8", "<i4", "<f4", "<f8", "<f2", "|u1", "|i1", "|b1", ">i8", "<c8", "O", "<U3",
        "<i8'"};

    /** A {@code .npy} file: version, header length (true or forged), descr, order, shape and a body. */
    static byte[] npy(SplittableRandom rnd) {
        int version = pick(rnd, 1, 1, 1, 2, 3, 0, 9);
        String descr = DESCRS[rnd.nextInt(DESCRS.length)];
        StringBuilder shape = new StringBuilder("(");
        int dims = rnd.nextInt(4);
        long numel = 1;
        for (int i = 0; i < dims; i++) {
            String d = switch (rnd.nextInt(10)) {
                case 0 -> "-4";
                case 1 -> "99999999999";
                case 2 -> "abc";
                case 3 -> String.valueOf(Integer.MAX_VALUE);
                case 4 -> "1L";
                default -> String.valueOf(rnd.nextInt(5));
            };
            shape.append(d).append(", ");
            numel *= d.matches("[0-9]+") && d.length() < 6 ? Long.parseLong(d) : 1;
        }
        shape.append(")");
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (rnd.nextInt(8) == 0 ? "True" : "False")
                + ", 'shape': " + shape + ", }";
        if (rnd.nextInt(10) == 0) {
            dict = dict.replace("'shape'", "'shap'");
        }
        byte[] h = (dict + " ".repeat(rnd.nextInt(8)) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        int bodyLength = (int) Math.min(4096, numel * 8 + pick(rnd, 0, 0, 0, -3, 5));
        byte[] body = new byte[Math.max(0, bodyLength)];
        int valueKind = rnd.nextInt(4);
        for (int i = 0; i + 8 <= body.length; i += 8) {
            long v = switch (valueKind) {
                case 0 -> rnd.nextInt(1000);
                case 1 -> Double.doubleToRawLongBits(pick(rnd, Double.NaN, 1e30, 1.5, 7.0));
                case 2 -> pick(rnd, 1L << 40, -1L, Long.MIN_VALUE, 500_000_000L);
                default -> rnd.nextLong();
            };
            ByteBuffer.wrap(body, i, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        }
        ByteBuffer b = ByteBuffer.allocate(12 + h.length + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
        long declared = rnd.nextInt(6) == 0 ? pick(rnd, 0xffff, 0, h.length + 100, -1) : h.length;
        if (version == 1) {
            b.putShort((short) declared);
        } else {
            b.putInt((int) declared);
        }
        b.put(h).put(body);
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    // ------------------------------------------------------------------ protobuf (SentencePiece)

    /** A SentencePiece {@code ModelProto} written field by field (wire format), with random field values. */
    static byte[] sentencePiece(SplittableRandom rnd) {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        int pieces = rnd.nextInt(8);
        boolean unk = false;
        for (int i = 0; i < pieces; i++) {
            ByteArrayOutputStream p = new ByteArrayOutputStream();
            String[] texts = {"<unk>", "a", "b", "\u2581a", "<0x41>", "<0xZZ>", "", "ab", "\u2581"};
            bytesField(p, 1, texts[rnd.nextInt(texts.length)].getBytes(StandardCharsets.UTF_8));
            tag(p, 2, 5);
            p.writeBytes(le32(Float.floatToRawIntBits(pick(rnd, -1f, 0f, Float.NaN, -1e30f))));
            int type = i == 0 || rnd.nextInt(5) == 0 ? 2 : rnd.nextInt(8);
            unk |= type == 2;
            varintField(p, 3, type);
            bytesField(m, 1, p.toByteArray());
        }
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        varintField(t, 3, pick(rnd, 1, 1, 2, 0, 7));
        varintField(t, 35, rnd.nextInt(2));
        bytesField(m, 2, t.toByteArray());
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        bytesField(n, 1, "nmt_nfkc".getBytes(StandardCharsets.UTF_8));
        if (rnd.nextBoolean()) {
            bytesField(n, 2, charsmap(rnd));
        }
        varintField(n, 3, rnd.nextInt(2));
        varintField(n, 4, rnd.nextInt(2));
        bytesField(m, 3, n.toByteArray());
        if (rnd.nextInt(8) == 0) {
            // an unknown field of a random wire type
            tag(m, 1 + rnd.nextInt(100), rnd.nextInt(6));
            m.write(rnd.nextInt(256));
        }
        return m.toByteArray();
    }

    /** A precompiled charsmap: a trie of random small units and a replacement pool. */
    private static byte[] charsmap(SplittableRandom rnd) {
        int units = pick(rnd, 0, 1, 2, 97, 256, 300);
        int pool = rnd.nextInt(8);
        ByteBuffer b = ByteBuffer.allocate(4 + units * 4 + pool).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(rnd.nextInt(10) == 0 ? rnd.nextInt() : units * 4);
        for (int i = 0; i < units; i++) {
            int label = rnd.nextInt(4) == 0 ? rnd.nextInt(128) : 0;
            int unit = label | (rnd.nextInt(3) == 0 ? 1 << 8 : 0) | (rnd.nextInt(units + 1) << 10);
            b.putInt(rnd.nextInt(20) == 0 ? rnd.nextInt() : unit);
        }
        for (int i = 0; i < pool; i++) {
            b.put((byte) (rnd.nextInt(3) == 0 ? 0 : 'a' + rnd.nextInt(26)));
        }
        return b.array();
    }

    private static void tag(ByteArrayOutputStream o, int field, int wire) {
        varint(o, ((long) field << 3) | wire);
    }

    private static void varintField(ByteArrayOutputStream o, int field, long v) {
        tag(o, field, 0);
        varint(o, v);
    }

    private static void bytesField(ByteArrayOutputStream o, int field, byte[] b) {
        tag(o, field, 2);
        varint(o, b.length);
        o.writeBytes(b);
    }

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7fL) != 0) {
            o.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    // ------------------------------------------------------------------ images

    /** A PNG, GIF or JPEG header with chosen dimensions and a body of valid or random blocks. */
    static byte[] picture(SplittableRandom rnd) {
        int w = pick(rnd, 1, 16, 0, 5000, 65535, Integer.MAX_VALUE, -1, 3000);
        int h = pick(rnd, 1, 16, 0, 5000, 65535, Integer.MAX_VALUE, -1, 3000);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        switch (rnd.nextInt(3)) {
            case 0 -> {
                o.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
                ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) pick(rnd, 8, 8, 1, 16, 3))
                        .put((byte) pick(rnd, 2, 2, 0, 6, 3, 7)).put((byte) 0).put((byte) 0).put((byte) 0);
                pngChunk(o, "IHDR", ihdr.array());
                byte[] raw = new byte[rnd.nextInt(64)];
                if (rnd.nextBoolean()) {
                    java.util.zip.Deflater d = new java.util.zip.Deflater();
                    d.setInput(new byte[Math.min(4096, Math.max(0, w) * 3 + 1) * Math.min(4, Math.max(1, h))]);
                    d.finish();
                    byte[] buf = new byte[8192];
                    raw = java.util.Arrays.copyOf(buf, d.deflate(buf));
                    d.end();
                } else {
                    for (int i = 0; i < raw.length; i++) {
                        raw[i] = (byte) rnd.nextInt(256);
                    }
                }
                pngChunk(o, "IDAT", raw);
                pngChunk(o, "IEND", new byte[0]);
            }
            case 1 -> {
                o.writeBytes("GIF89a".getBytes(StandardCharsets.US_ASCII));
                o.writeBytes(le16(w));
                o.writeBytes(le16(h));
                o.write(rnd.nextBoolean() ? 0x80 : 0);
                o.write(0);
                o.write(0);
                if (rnd.nextBoolean()) {
                    o.writeBytes(new byte[6]);
                }
                o.write(0x2c);
                o.writeBytes(le16(0));
                o.writeBytes(le16(0));
                o.writeBytes(le16(pick(rnd, w, 1, 65535)));
                o.writeBytes(le16(pick(rnd, h, 1, 65535)));
                o.write(0);
                o.write(2);
                int n = rnd.nextInt(20);
                o.write(n);
                for (int i = 0; i < n; i++) {
                    o.write(rnd.nextInt(256));
                }
                o.write(0);
                if (rnd.nextBoolean()) {
                    o.write(0x3b);
                }
            }
            default -> {
                o.writeBytes(new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xc0, 0, 11, 8});
                o.writeBytes(ByteBuffer.allocate(4).putShort((short) h).putShort((short) w).array());
                o.writeBytes(new byte[] {1, 1, 0x11, 0});
                for (int i = 0, n = rnd.nextInt(32); i < n; i++) {
                    o.write(rnd.nextInt(256));
                }
                o.writeBytes(new byte[] {(byte) 0xff, (byte) 0xd9});
            }
        }
        return o.toByteArray();
    }

    private static void pngChunk(ByteArrayOutputStream o, String type, byte[] data) {
        o.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        o.writeBytes(t);
        o.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        o.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    // ------------------------------------------------------------------ model_config.json

    /** A {@code model_config.json} whose fields hold values of every JSON type and magnitude. */
    static String config(SplittableRandom rnd) {
        String[] values = {"2", "64", "4", "1.9", "2147483647", "4294967298", "-1", "0", "\"24\"", "true", "null",
            "{}", "[64, 464, 2064]", "[64, 40, 2064]", "[1, 2]", "1e30", "\"64,464,2064\"", "[96, 496, 4096]"};
        String[] keys = {"num_layers", "hidden_size", "num_attention_heads", "vocab_size", "layout",
            "max_sequence_length", "additional_seqlen", "window_size", "cogvideo_stage", "image_vocab_size",
            "new_sequence_length", "kernel_size", "layernorm_order"};
        StringBuilder sb = new StringBuilder("{");
        String[] sane = {"2", "64", "4", "30000", "[64, 464, 2064]", "1024", "2000", "-1", "1", "20000", "4624", "5",
            "\"sandwich\""};
        for (int i = 0; i < keys.length; i++) {
            String v = rnd.nextInt(3) == 0 ? values[rnd.nextInt(values.length)] : sane[i];
            sb.append(i == 0 ? "" : ", ").append('"').append(keys[i]).append("\": ").append(v);
        }
        return sb.append("}").toString();
    }

    // ------------------------------------------------------------------ helpers

    static byte[] le32(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    private static byte[] le16(int v) {
        return new byte[] {(byte) v, (byte) (v >>> 8)};
    }

    static int pick(SplittableRandom rnd, int... options) {
        return options[rnd.nextInt(options.length)];
    }

    static long pick(SplittableRandom rnd, long... options) {
        return options[rnd.nextInt(options.length)];
    }

    static double pick(SplittableRandom rnd, double... options) {
        return options[rnd.nextInt(options.length)];
    }

    static float pick(SplittableRandom rnd, float... options) {
        return options[rnd.nextInt(options.length)];
    }
}
