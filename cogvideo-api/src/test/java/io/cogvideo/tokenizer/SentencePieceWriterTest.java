package io.cogvideo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.DynamicMessage;
import io.cogvideo.CogVideoException;
import io.cogvideo.tokenizer.SentencePieceWriter.Piece;
import io.cogvideo.tokenizer.SentencePieceWriter.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SentencePieceWriter}: write → read through the project's own reader gives back the same model. */
class SentencePieceWriterTest {

    private static final List<Piece> PIECES = List.of(
            new Piece("<unk>", 0f, Type.UNKNOWN),
            new Piece("<s>", 0f, Type.CONTROL),
            new Piece("</s>", 0f, Type.CONTROL),
            new Piece("<pad>", 0f, Type.CONTROL),
            new Piece("<n>", 0f, Type.USER_DEFINED),
            new Piece("\u2581", -3.5f, Type.NORMAL),
            new Piece("a", -4.25f, Type.NORMAL),
            new Piece("b", -4.5f, Type.NORMAL),
            new Piece("ab", -2.0f, Type.NORMAL),
            new Piece("红", -6.125f, Type.NORMAL),
            new Piece("<ctl>", 0f, Type.CONTROL));

    @Test
    void roundTripsPiecesScoresTypesAndSpecs(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/m.model");
        SentencePieceWriter.of(PIECES).write(file);
        assertThat(file).isRegularFile();
        try (var s = Files.list(file.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("m.model"); // no temp left
        }
        SentencePieceModel m = SentencePieceModel.load(file);
        assertThat(m.size()).isEqualTo(PIECES.size());
        DynamicMessage proto = DynamicMessage.parseFrom(SentencePieceProto.MODEL, Files.readAllBytes(file));
        var fPieces = SentencePieceProto.MODEL.findFieldByName("pieces");
        for (int i = 0; i < PIECES.size(); i++) {
            Piece p = PIECES.get(i);
            assertThat(m.idToPiece(i)).isEqualTo(p.text());
            assertThat(m.pieceToId(p.text())).isEqualTo(i);
            assertThat(m.isControl(i)).isEqualTo(p.type() == Type.CONTROL);
            DynamicMessage dp = (DynamicMessage) proto.getRepeatedField(fPieces, i);
            assertThat(dp.getField(SentencePieceProto.PIECE.findFieldByName("score"))).isEqualTo(p.score());
            assertThat(dp.getField(SentencePieceProto.PIECE.findFieldByName("type"))).isEqualTo(p.type().protoValue());
        }
        assertThat(m.unknownId()).isZero();
        DynamicMessage tr = (DynamicMessage) proto.getField(SentencePieceProto.MODEL.findFieldByName("trainer_spec"));
        assertThat(tr.getField(SentencePieceProto.TRAINER.findFieldByName("model_type")))
                .isEqualTo(SentencePieceProto.UNIGRAM);
        assertThat(tr.getField(SentencePieceProto.TRAINER.findFieldByName("vocab_size"))).isEqualTo(PIECES.size());
        assertThat(tr.getField(SentencePieceProto.TRAINER.findFieldByName("unk_id"))).isEqualTo(0);
        assertThat(tr.getField(SentencePieceProto.TRAINER.findFieldByName("bos_id"))).isEqualTo(1);
        assertThat(tr.getField(SentencePieceProto.TRAINER.findFieldByName("eos_id"))).isEqualTo(2);
        assertThat(tr.getField(SentencePieceProto.TRAINER.findFieldByName("pad_id"))).isEqualTo(3);
        DynamicMessage ns = (DynamicMessage) proto.getField(
                SentencePieceProto.MODEL.findFieldByName("normalizer_spec"));
        assertThat(ns.getField(SentencePieceProto.NORMALIZER.findFieldByName("name"))).isEqualTo("identity");
        assertThat(ns.hasField(SentencePieceProto.NORMALIZER.findFieldByName("add_dummy_prefix"))).isTrue();
    }

    @Test
    void encodesWithTheWrittenScoresAndFlags(@TempDir Path dir) {
        Path file = dir.resolve("m.model");
        SentencePieceWriter.of(PIECES).write(file);
        SentencePieceModel m = SentencePieceModel.load(file);
        // "ab" (-2) beats "a" + "b" (-8.75); the dummy prefix gives a leading "▁"; <n> stays one piece
        assertThat(m.encode("ab<n>ba  红").pieces()).containsExactly("\u2581", "ab", "<n>", "b", "a", "\u2581", "红");
        assertThat(m.encode("c").ids()).containsExactly(5, 0); // unknown character → <unk>
        assertThat(m.decode(m.encode("ab ba").ids())).isEqualTo("ab ba");

        // flags off: no dummy prefix, spaces kept as they are (not escaped, not collapsed) → unknown
        Path raw = dir.resolve("raw.model");
        new SentencePieceWriter(PIECES, false, false, false).write(raw);
        SentencePieceModel r = SentencePieceModel.load(raw);
        assertThat(r.encode("ab").pieces()).containsExactly("ab");
        assertThat(r.encode("a b").ids()).containsExactly(6, 0, 7);
        // overwriting an existing file works (atomic replace)
        SentencePieceWriter.of(PIECES).write(raw);
        assertThat(SentencePieceModel.load(raw).encode("ab").pieces()).containsExactly("\u2581", "ab");
    }

    @Test
    void refusesInvalidVocabularies() {
        assertThatThrownBy(() -> SentencePieceWriter.of(List.of(new Piece("a", -1f, Type.NORMAL))))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("exactly one UNKNOWN piece, got 0");
        assertThatThrownBy(() -> SentencePieceWriter.of(List.of(new Piece("<unk>", 0f, Type.UNKNOWN),
                new Piece("a", -1f, Type.NORMAL), new Piece("a", -2f, Type.NORMAL))))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("'a' (id 2) is defined twice");
        assertThatThrownBy(() -> new Piece("", 0f, Type.NORMAL)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("non-empty");
        assertThatThrownBy(() -> new Piece("x", Float.NaN, Type.NORMAL)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("finite");
    }
}
