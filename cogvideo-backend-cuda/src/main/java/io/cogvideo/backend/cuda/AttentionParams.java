package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Packs one attention launch into the bytes of {@code CvAttnParams} ({@code src/main/cuda/cv_attention_params.cuh}),
 * passed to the kernel by value. The offsets below are the C layout, pinned there by {@code static_assert}s; the
 * {@link AttentionMask} goes in field by field so that the kernel evaluates exactly the reference visibility.
 *
 * @param q          device pointer of the float queries
 * @param k          device pointer of the keys (float, half or bfloat16)
 * @param v          device pointer of the values (same type and strides as the keys)
 * @param out        device pointer of the float output, or of the split workspace
 * @param qBatch     elements between batch entries of q
 * @param kBatch     elements between batch entries of k and v
 * @param oBatch     elements between batch entries of the output
 * @param qRow       elements between rows of q
 * @param kRow       elements between rows of k and v
 * @param oRow       elements between rows of the output
 * @param nq         query rows per batch entry
 * @param keyLength  valid key rows
 * @param headDim    width of one head
 * @param splits     key splits of a decode launch (1: write the output directly)
 * @param scale      {@code 1 / sqrt(headDim)}
 * @param mask       the structured mask
 */
record AttentionParams(long q, long k, long v, long out, long qBatch, long kBatch, long oBatch, int qRow, int kRow,
        int oRow, int nq, int keyLength, int headDim, int splits, float scale, AttentionMask mask) {

    /** {@code sizeof(CvAttnParams)}. */
    static final int SIZE = 144;
    /** {@code offsetof(CvAttnParams, m)}. */
    static final int MASK_OFFSET = 88;
    /** {@code sizeof(CvMask)}. */
    static final int MASK_SIZE = 56;

    /** Scope codes of {@code CV_SCOPE_*}. */
    static int scopeCode(AttentionMask.Scope s) {
        return switch (s) {
            case OWN_FRAME -> 0;
            case ALL_FRAMES -> 1;
            case WINDOW -> 2;
        };
    }

    static AttentionMask.Scope scopeOf(int code) {
        return switch (code) {
            case 0 -> AttentionMask.Scope.OWN_FRAME;
            case 1 -> AttentionMask.Scope.ALL_FRAMES;
            case 2 -> AttentionMask.Scope.WINDOW;
            default -> throw new CogVideoException("unknown scope code " + code);
        };
    }

    /** The 144 bytes, little-endian. */
    byte[] pack() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, q).putLong(8, k).putLong(16, v).putLong(24, out);
        b.putLong(32, qBatch).putLong(40, kBatch).putLong(48, oBatch);
        b.putInt(56, qRow).putInt(60, kRow).putInt(64, oRow);
        b.putInt(68, nq).putInt(72, keyLength).putInt(76, headDim).putInt(80, splits);
        b.putFloat(84, scale);
        putMask(b, MASK_OFFSET, mask);
        return b.array();
    }

    static void putMask(ByteBuffer b, int at, AttentionMask m) {
        b.putInt(at, m.heads());
        b.putInt(at + 4, m.textLength());
        b.putInt(at + 8, m.textPadding());
        b.putFloat(at + 12, m.textBoost());
        b.putInt(at + 16, m.queriesIncludeText() ? 1 : 0);
        b.putInt(at + 20, m.queryFrameStart());
        b.putInt(at + 24, m.keyFrameStart());
        b.putInt(at + 28, m.frameLength());
        b.putInt(at + 32, m.grid());
        b.putInt(at + 36, scopeCode(m.scope()));
        b.putInt(at + 40, m.causal() ? 1 : 0);
        b.putInt(at + 44, m.windowSize());
        b.putInt(at + 48, m.shift());
        b.putInt(at + 52, m.wrapAround() ? 1 : 0);
    }

    /** Reads {@link #SIZE} packed bytes back (tests: the round trip must be the identity). */
    static AttentionParams unpack(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int at = MASK_OFFSET;
        AttentionMask m = new AttentionMask(b.getInt(at), b.getInt(at + 4), b.getInt(at + 8), b.getFloat(at + 12),
                b.getInt(at + 16) != 0, b.getInt(at + 20), b.getInt(at + 24), b.getInt(at + 28), b.getInt(at + 32),
                scopeOf(b.getInt(at + 36)), b.getInt(at + 40) != 0, b.getInt(at + 44), b.getInt(at + 48),
                b.getInt(at + 52) != 0);
        return new AttentionParams(b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32),
                b.getLong(40), b.getLong(48), b.getInt(56), b.getInt(60), b.getInt(64), b.getInt(68), b.getInt(72),
                b.getInt(76), b.getInt(80), b.getFloat(84), m);
    }
}
