package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.AttentionMask.Scope;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Packing of an attention launch into the bytes of {@code CvAttnParams}. */
class AttentionParamsTest {

    @Test
    void packThenUnpackIsTheIdentityForRandomMasks() {
        Random r = new Random(7);
        for (int i = 0; i < 500; i++) {
            Reference.Case c = Reference.randomCase(r, 2000, r.nextBoolean(), new int[] {16, 64, 128});
            AttentionParams p = new AttentionParams(r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(),
                    r.nextInt(1 << 30) * 7L, r.nextInt(1 << 30) * 3L, r.nextLong() >>> 1, r.nextInt(), r.nextInt(),
                    r.nextInt(), c.nq(), c.keyLength(), c.headDim(), 1 + r.nextInt(64), r.nextFloat(), c.mask());
            byte[] b = p.pack();
            assertThat(b).hasSize(AttentionParams.SIZE);
            assertThat(AttentionParams.unpack(b)).isEqualTo(p);
        }
    }

    @Test
    void fieldsSitAtTheOffsetsOfTheCStruct() {
        AttentionMask m = new AttentionMask(48, 9, 2, 1.4f, true, 1200, 400, 400, 20, Scope.WINDOW, true, 10, 5,
                false);
        byte[] b = new AttentionParams(0x1111L, 0x2222L, 0x3333L, 0x4444L, 5L, 6L, 7L, 8, 9, 10, 11, 12, 13, 14, 0.125f,
                m).pack();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        // offsetof values asserted by static_assert in cv_attention_params.cuh
        assertThat(bb.getLong(0)).isEqualTo(0x1111L);
        assertThat(bb.getLong(24)).isEqualTo(0x4444L);
        assertThat(bb.getLong(48)).isEqualTo(7L);
        assertThat(bb.getInt(68)).isEqualTo(11); // nq
        assertThat(bb.getInt(80)).isEqualTo(14); // splits
        assertThat(bb.getFloat(84)).isEqualTo(0.125f);
        int mask = AttentionParams.MASK_OFFSET;
        assertThat(bb.getInt(mask)).isEqualTo(48);
        assertThat(bb.getInt(mask + 8)).isEqualTo(2); // textPadding
        assertThat(bb.getFloat(mask + 12)).isEqualTo(1.4f);
        assertThat(bb.getInt(mask + 16)).isEqualTo(1); // queriesIncludeText
        assertThat(bb.getInt(mask + 36)).isEqualTo(2); // CV_SCOPE_WINDOW
        assertThat(bb.getInt(mask + 52)).isZero(); // wrapAround
        assertThat(AttentionParams.MASK_OFFSET + AttentionParams.MASK_SIZE).isEqualTo(AttentionParams.SIZE);
    }

    @Test
    void scopeCodesFollowTheHeader() {
        assertThat(AttentionParams.scopeCode(Scope.OWN_FRAME)).isZero();
        assertThat(AttentionParams.scopeCode(Scope.ALL_FRAMES)).isEqualTo(1);
        assertThat(AttentionParams.scopeCode(Scope.WINDOW)).isEqualTo(2);
        for (Scope s : Scope.values()) {
            assertThat(AttentionParams.scopeOf(AttentionParams.scopeCode(s))).isEqualTo(s);
        }
    }
}
