package io.cogvideo.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Longest-prefix matching over UTF-8 bytes (a byte trie): user-defined symbols and vocabulary pieces. */
final class PrefixMatcher {
    private static final class Node {
        final Map<Byte, Node> next = new HashMap<>(4);
        int value = -1;
    }

    private final Node root = new Node();
    private boolean empty = true;

    /** Adds {@code key} with {@code value}; the first value for a key wins. */
    void add(String key, int value) {
        add(key.getBytes(StandardCharsets.UTF_8), value);
    }

    void add(byte[] key, int value) {
        if (key.length == 0) {
            return;
        }
        Node n = root;
        for (byte b : key) {
            n = n.next.computeIfAbsent(b, x -> new Node());
        }
        if (n.value < 0) {
            n.value = value;
        }
        empty = false;
    }

    /** Length of the longest key that is a prefix of {@code in[pos..]}, 0 if none. */
    int match(byte[] in, int pos) {
        if (empty) {
            return 0;
        }
        Node n = root;
        int best = 0;
        for (int i = pos; i < in.length; i++) {
            n = n.next.get(in[i]);
            if (n == null) {
                break;
            }
            if (n.value >= 0) {
                best = i + 1 - pos;
            }
        }
        return best;
    }

    /** Every key that is a prefix of {@code in[pos..]}: calls {@code visit(length, value)} shortest first. */
    void forEachPrefix(byte[] in, int pos, PrefixVisitor visit) {
        Node n = root;
        for (int i = pos; i < in.length; i++) {
            n = n.next.get(in[i]);
            if (n == null) {
                return;
            }
            if (n.value >= 0) {
                visit.visit(i + 1 - pos, n.value);
            }
        }
    }

    /** Receives prefix matches. */
    interface PrefixVisitor {
        void visit(int length, int value);
    }
}
