package io.cogvideo.tokenizer;

import io.cogvideo.CogVideoException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * SentencePiece's normalizer: the precompiled character map of the model (a Darts-clone double-array trie over UTF-8
 * bytes plus a blob of NUL-terminated replacement strings, longest prefix wins), user-defined symbols kept verbatim,
 * whitespace handling (drop leading/trailing/repeated spaces, dummy prefix, escape as U+2581) and the alignment from
 * normalized bytes back to original bytes. Immutable and thread-safe.
 */
final class Normalizer {
    static final byte[] SPACE_SYMBOL = "\u2581".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    private final int[] units;
    private final byte[] replacements;
    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;
    private final boolean treatWhitespaceAsSuffix;
    private final PrefixMatcher userDefined;

    /** Normalized bytes and, per normalized byte (plus one end entry), the original byte offset. */
    record Result(byte[] normalized, int[] normToOrig) {
    }

    Normalizer(byte[] charsmap, boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces,
            boolean treatWhitespaceAsSuffix, PrefixMatcher userDefined) {
        if (charsmap == null || charsmap.length == 0) {
            units = null;
            replacements = null;
        } else {
            ByteBuffer b = ByteBuffer.wrap(charsmap).order(ByteOrder.LITTLE_ENDIAN);
            if (charsmap.length < 4) {
                throw new CogVideoException("precompiled_charsmap is truncated: " + charsmap.length + " bytes");
            }
            long trieSize = b.getInt() & 0xffffffffL;
            if (trieSize > charsmap.length - 4L || trieSize % 4 != 0) {
                throw new CogVideoException("precompiled_charsmap: trie size " + trieSize + " does not fit its "
                        + charsmap.length + " bytes (or is not a multiple of 4)");
            }
            if (trieSize == 0) {
                throw new CogVideoException("precompiled_charsmap has an empty trie (trie size 0 of "
                        + charsmap.length + " bytes)");
            }
            units = new int[(int) (trieSize / 4)];
            b.asIntBuffer().get(units);
            replacements = Arrays.copyOfRange(charsmap, 4 + (int) trieSize, charsmap.length);
        }
        this.addDummyPrefix = addDummyPrefix;
        this.removeExtraWhitespaces = removeExtraWhitespaces;
        this.escapeWhitespaces = escapeWhitespaces;
        this.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
        this.userDefined = userDefined;
        if (units != null) {
            probe();
        }
    }

    /**
     * Runs every rule reachable from one ASCII byte or a few common characters once, so that a corrupt character
     * map fails while the model is loaded (where the error names the file) rather than on some later prompt.
     */
    private void probe() {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        byte[] one = new byte[1];
        for (int c = 0; c < 128; c++) {
            one[0] = (byte) c;
            prefix(one, 0, sink);
            sink.reset();
        }
        byte[] common = "\u00a0\u3000\uff21\u00e9\u2581".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i < common.length; i++) {
            prefix(common, i, sink);
            sink.reset();
        }
    }

    /** {@code (replacement bytes, consumed bytes)} for the longest rule matching at {@code pos}. */
    private int[] prefix(byte[] in, int pos, ByteArrayOutputStream repl) {
        int m = userDefined.match(in, pos);
        if (m > 0) {
            repl.write(in, pos, m);
            return new int[] {m};
        }
        int longest = 0;
        int value = 0;
        if (units != null) {
            int node = 0;
            int unit = units[0];
            node ^= offset(unit);
            for (int i = pos; i < in.length; i++) {
                int c = in[i] & 0xff;
                node ^= c;
                if (node < 0 || node >= units.length) {
                    break;
                }
                unit = units[node];
                if (label(unit) != c) {
                    break;
                }
                node ^= offset(unit);
                if (hasLeaf(unit)) {
                    if (node < 0 || node >= units.length) {
                        break;
                    }
                    longest = i + 1 - pos;
                    value = units[node] & 0x7fffffff;
                }
            }
        }
        if (longest == 0) {
            int len = Utf8.charLength(in, pos);
            if (len <= 0) {
                repl.write(REPLACEMENT, 0, 3);
                return new int[] {1};
            }
            repl.write(in, pos, len);
            return new int[] {len};
        }
        if (value >= replacements.length) {
            throw new CogVideoException("corrupt SentencePiece precompiled_charsmap: a rule points at replacement"
                    + " offset " + value + ", outside its " + replacements.length + "-byte replacement pool");
        }
        int end = value;
        while (end < replacements.length && replacements[end] != 0) {
            end++;
        }
        repl.write(replacements, value, end - value);
        return new int[] {longest};
    }

    private static boolean hasLeaf(int unit) {
        return ((unit >>> 8) & 1) == 1;
    }

    private static int label(int unit) {
        return unit & (0x80000000 | 0xff);
    }

    private static int offset(int unit) {
        return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    }

    Result normalize(byte[] input) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(input.length * 2 + 4);
        IntList n2o = new IntList(input.length * 2 + 4);
        int pos = 0;
        int consumed = 0;
        if (input.length == 0) {
            return new Result(new byte[0], new int[] {0});
        }
        ByteArrayOutputStream piece = new ByteArrayOutputStream(16);
        if (removeExtraWhitespaces) {
            while (pos < input.length) {
                piece.reset();
                int used = prefix(input, pos, piece)[0];
                byte[] p = piece.toByteArray();
                if (!(p.length == 1 && p[0] == ' ')) {
                    break;
                }
                pos += used;
                consumed += used;
            }
        }
        if (pos >= input.length) {
            return new Result(new byte[0], new int[] {consumed});
        }
        if (addDummyPrefix && !treatWhitespaceAsSuffix) {
            addSpace(out, n2o, consumed);
        }
        boolean prevSpace = removeExtraWhitespaces;
        while (pos < input.length) {
            piece.reset();
            int used = prefix(input, pos, piece)[0];
            byte[] sp = piece.toByteArray();
            int start = 0;
            if (prevSpace && removeExtraWhitespaces) {
                while (start < sp.length && sp[start] == ' ') {
                    start++;
                }
            }
            if (start < sp.length) {
                for (int i = start; i < sp.length; i++) {
                    if (escapeWhitespaces && sp[i] == ' ') {
                        out.write(SPACE_SYMBOL, 0, SPACE_SYMBOL.length);
                        for (int k = 0; k < SPACE_SYMBOL.length; k++) {
                            n2o.add(consumed);
                        }
                    } else {
                        out.write(sp[i]);
                        n2o.add(consumed);
                    }
                }
                prevSpace = sp[sp.length - 1] == ' ';
            }
            consumed += used;
            pos += used;
            if (!removeExtraWhitespaces) {
                prevSpace = false;
            }
        }
        byte[] norm = out.toByteArray();
        int len = norm.length;
        if (removeExtraWhitespaces) {
            byte[] space = escapeWhitespaces ? SPACE_SYMBOL : new byte[] {' '};
            while (len >= space.length && endsWith(norm, len, space)) {
                len -= space.length;
                consumed = n2o.get(len);
                n2o.truncate(len);
            }
        }
        if (treatWhitespaceAsSuffix && addDummyPrefix) {
            byte[] n = Arrays.copyOf(norm, len);
            ByteArrayOutputStream o2 = new ByteArrayOutputStream();
            o2.write(n, 0, n.length);
            addSpace(o2, n2o, consumed);
            norm = o2.toByteArray();
            len = norm.length;
        }
        n2o.add(consumed);
        return new Result(Arrays.copyOf(norm, len), n2o.toArray());
    }

    private void addSpace(ByteArrayOutputStream out, IntList n2o, int consumed) {
        if (escapeWhitespaces) {
            out.write(SPACE_SYMBOL, 0, SPACE_SYMBOL.length);
            for (int k = 0; k < SPACE_SYMBOL.length; k++) {
                n2o.add(consumed);
            }
        } else {
            out.write(' ');
            n2o.add(consumed);
        }
    }

    private static boolean endsWith(byte[] a, int len, byte[] suffix) {
        for (int i = 0; i < suffix.length; i++) {
            if (a[len - suffix.length + i] != suffix[i]) {
                return false;
            }
        }
        return true;
    }

    /** A growable int array. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int cap) {
            a = new int[Math.max(4, cap)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int get(int i) {
            return a[i];
        }

        void truncate(int len) {
            n = len;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
