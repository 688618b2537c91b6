package io.cogvideo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import io.cogvideo.CogVideoException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SentencePiece models with a broken normalizer character map (issue #18): a named error, never an AIOOBE. */
class HostileSentencePieceTest {
    @TempDir
    Path tmp;

    static byte[] model(byte[] charsmap) {
        DynamicMessage unk = DynamicMessage.newBuilder(SentencePieceProto.PIECE)
                .setField(SentencePieceProto.PIECE.findFieldByName("piece"), "<unk>")
                .setField(SentencePieceProto.PIECE.findFieldByName("type"), SentencePieceProto.UNKNOWN).build();
        DynamicMessage a = DynamicMessage.newBuilder(SentencePieceProto.PIECE)
                .setField(SentencePieceProto.PIECE.findFieldByName("piece"), "a")
                .setField(SentencePieceProto.PIECE.findFieldByName("score"), -1f).build();
        DynamicMessage.Builder norm = DynamicMessage.newBuilder(SentencePieceProto.NORMALIZER);
        if (charsmap != null) {
            norm.setField(SentencePieceProto.NORMALIZER.findFieldByName("precompiled_charsmap"),
                    ByteString.copyFrom(charsmap));
        }
        return DynamicMessage.newBuilder(SentencePieceProto.MODEL)
                .addRepeatedField(SentencePieceProto.MODEL.findFieldByName("pieces"), unk)
                .addRepeatedField(SentencePieceProto.MODEL.findFieldByName("pieces"), a)
                .setField(SentencePieceProto.MODEL.findFieldByName("normalizer_spec"), norm.build())
                .build().toByteArray();
    }

    /** A trie whose rule for 'a' points at replacement offset 353 of a 2-byte pool. */
    static byte[] outOfRangeCharsmap() {
        int[] units = new int[97];
        units[0] = 1 << 10; // root: offset 1
        units[96] = 'a' | (1 << 8); // label 'a', has a leaf, offset 0: its value is read from itself (353)
        ByteBuffer b = ByteBuffer.allocate(4 + units.length * 4 + 2).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(units.length * 4);
        for (int u : units) {
            b.putInt(u);
        }
        b.put((byte) 'x').put((byte) 0);
        return b.array();
    }

    @Test
    void emptyTrieIsANamedError() throws IOException {
        Path f = Files.write(tmp.resolve("empty.model"), model(new byte[] {0, 0, 0, 0, 'x', 0}));
        assertThatThrownBy(() -> SentencePieceModel.load(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("empty trie");
    }

    @Test
    void outOfRangeReplacementIsANamedError() throws IOException {
        Path f = Files.write(tmp.resolve("range.model"), model(outOfRangeCharsmap()));
        assertThatThrownBy(() -> SentencePieceModel.load(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("replacement offset 353");
    }

    @Test
    void trieSizeBeyondTheMapIsANamedError() throws IOException {
        Path f = Files.write(tmp.resolve("size.model"), model(new byte[] {(byte) 0xff, 0, 0, 0, 1, 2, 3, 4}));
        assertThatThrownBy(() -> SentencePieceModel.load(f)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("trie size 255");
    }

    @Test
    void modelWithoutCharsmapStillLoads() throws IOException {
        Path f = Files.write(tmp.resolve("ok.model"), model(null));
        assertThat(SentencePieceModel.load(f).size()).isEqualTo(2);
    }
}
