package io.cogvideo.tokenizer;

/** UTF-8 helpers with SentencePiece's validity rules. */
final class Utf8 {
    private Utf8() {
    }

    /** Length of the valid UTF-8 character at {@code pos}, or -1 if the bytes there are malformed. */
    static int charLength(byte[] b, int pos) {
        int c = b[pos] & 0xff;
        int len;
        int min;
        if (c < 0x80) {
            return 1;
        } else if (c >= 0xC2 && c < 0xE0) {
            len = 2;
            min = 0x80;
        } else if (c >= 0xE0 && c < 0xF0) {
            len = 3;
            min = 0x800;
        } else if (c >= 0xF0 && c < 0xF5) {
            len = 4;
            min = 0x10000;
        } else {
            return -1;
        }
        if (pos + len > b.length) {
            return -1;
        }
        int cp = c & (0xFF >> (len + 1));
        for (int i = 1; i < len; i++) {
            int cc = b[pos + i] & 0xff;
            if ((cc & 0xC0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return -1;
        }
        return len;
    }

    /** Length of the character at {@code pos}, 1 for a malformed byte (as SentencePiece's OneCharLen). */
    static int oneCharLen(byte[] b, int pos) {
        int c = (b[pos] & 0xff) >> 4;
        int[] table = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
        return Math.min(table[c], b.length - pos);
    }
}
