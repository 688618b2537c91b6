package io.cogvideo.tokenizer;

import com.google.protobuf.CodedOutputStream;
import io.cogvideo.CogVideoException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes a SentencePiece unigram model as a {@code .model} file: a {@code sentencepiece.ModelProto} (proto2 wire
 * format, the field numbers of SentencePiece's {@code sentencepiece_model.proto}) with the given pieces (piece,
 * score, type), a {@code trainer_spec} (model type UNIGRAM, {@code vocab_size}, the ids and pieces of
 * {@code <unk>}, {@code <s>}, {@code </s>}, {@code <pad>}, the user-defined symbols) and a {@code normalizer_spec}
 * named {@code identity} with no precompiled character map (no Unicode rewriting) and the three whitespace flags.
 * The file loads with {@link SentencePieceModel#load(Path)} and with the SentencePiece library itself.
 *
 * <p>Only what a hand-built (not trained) model needs is written; a precompiled character map (e.g. for
 * {@code nmt_nfkc}) is not supported and is refused rather than named without its map. Immutable and thread-safe.
 *
 * @param pieces                 the vocabulary in id order: exactly one {@link Type#UNKNOWN} piece, no duplicates
 * @param addDummyPrefix         prepend a space ({@code ▁}) to the text, as SentencePiece's default
 * @param removeExtraWhitespaces drop leading, trailing and repeated spaces, as SentencePiece's default
 * @param escapeWhitespaces      spaces become {@code ▁} (U+2581), as SentencePiece's default
 */
public record SentencePieceWriter(List<Piece> pieces, boolean addDummyPrefix, boolean removeExtraWhitespaces,
        boolean escapeWhitespaces) {

    /** The normalizer name written: no character map, text is kept as given (apart from the whitespace flags). */
    public static final String NORMALIZER_NAME = "identity";

    /** {@code ModelProto.SentencePiece.Type}: the piece types a written model may hold. */
    public enum Type {
        /** An ordinary piece, chosen by the unigram Viterbi by its score. */
        NORMAL(SentencePieceProto.NORMAL),
        /** The unknown piece (exactly one per model). */
        UNKNOWN(SentencePieceProto.UNKNOWN),
        /** A control symbol ({@code <s>}, {@code </s>}, {@code <pad>}): never produced from text, decodes to "". */
        CONTROL(SentencePieceProto.CONTROL),
        /** A user-defined symbol ({@code <n>}): always one piece when it occurs in the text. */
        USER_DEFINED(SentencePieceProto.USER_DEFINED);

        private final int protoValue;

        Type(int protoValue) {
            this.protoValue = protoValue;
        }

        /** The enum's value in {@code sentencepiece_model.proto}. */
        public int protoValue() {
            return protoValue;
        }
    }

    /**
     * One vocabulary entry.
     *
     * @param text  the piece (non-empty; {@code ▁} marks a space)
     * @param score its unigram log-probability (finite); ignored by SentencePiece for control and user symbols
     * @param type  its type
     */
    public record Piece(String text, float score, Type type) {
        public Piece {
            if (text == null || text.isEmpty()) {
                throw new CogVideoException("SentencePiece piece text must be non-empty, got '" + text + "'");
            }
            if (!Float.isFinite(score)) {
                throw new CogVideoException("SentencePiece piece '" + text + "': score " + score
                        + " is invalid; allowed: a finite float");
            }
            if (type == null) {
                throw new CogVideoException("SentencePiece piece '" + text + "' has no type");
            }
        }
    }

    // ModelProto / TrainerSpec / NormalizerSpec field numbers (sentencepiece_model.proto).
    private static final int MODEL_PIECES = 1;
    private static final int MODEL_TRAINER_SPEC = 2;
    private static final int MODEL_NORMALIZER_SPEC = 3;
    private static final int PIECE_PIECE = 1;
    private static final int PIECE_SCORE = 2;
    private static final int PIECE_TYPE = 3;
    private static final int TRAINER_MODEL_TYPE = 3;
    private static final int TRAINER_VOCAB_SIZE = 4;
    private static final int TRAINER_CONTROL_SYMBOLS = 30;
    private static final int TRAINER_USER_DEFINED_SYMBOLS = 31;
    private static final int TRAINER_BYTE_FALLBACK = 35;
    private static final int TRAINER_UNK_ID = 40;
    private static final int TRAINER_BOS_ID = 41;
    private static final int TRAINER_EOS_ID = 42;
    private static final int TRAINER_PAD_ID = 43;
    private static final int TRAINER_UNK_SURFACE = 44;
    private static final int TRAINER_UNK_PIECE = 45;
    private static final int TRAINER_BOS_PIECE = 46;
    private static final int TRAINER_EOS_PIECE = 47;
    private static final int TRAINER_PAD_PIECE = 48;
    private static final int NORMALIZER_NAME_FIELD = 1;
    private static final int NORMALIZER_ADD_DUMMY_PREFIX = 3;
    private static final int NORMALIZER_REMOVE_EXTRA_WHITESPACES = 4;
    private static final int NORMALIZER_ESCAPE_WHITESPACES = 5;

    public SentencePieceWriter {
        pieces = List.copyOf(pieces);
        if (pieces.isEmpty()) {
            throw new CogVideoException("a SentencePiece model needs at least one piece (the unknown piece), got 0");
        }
        Set<String> seen = new HashSet<>();
        int unknown = 0;
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            if (!seen.add(p.text())) {
                throw new CogVideoException("SentencePiece piece '" + p.text() + "' (id " + i + ") is defined twice");
            }
            if (p.type() == Type.UNKNOWN) {
                unknown++;
            }
        }
        if (unknown != 1) {
            throw new CogVideoException("a SentencePiece model needs exactly one UNKNOWN piece, got " + unknown);
        }
    }

    /** A writer with SentencePiece's default whitespace handling (all three flags on, as icetk's model). */
    public static SentencePieceWriter of(List<Piece> pieces) {
        return new SentencePieceWriter(pieces, true, true, true);
    }

    /** Id of the UNKNOWN piece. */
    public int unknownId() {
        for (int i = 0; i < pieces.size(); i++) {
            if (pieces.get(i).type() == Type.UNKNOWN) {
                return i;
            }
        }
        throw new IllegalStateException("validated in the constructor");
    }

    /** Id of the CONTROL piece {@code text}, or -1 (SentencePiece's "disabled") when there is none. */
    public int controlId(String text) {
        for (int i = 0; i < pieces.size(); i++) {
            if (pieces.get(i).type() == Type.CONTROL && pieces.get(i).text().equals(text)) {
                return i;
            }
        }
        return -1;
    }

    /** The serialized {@code ModelProto}. */
    public byte[] toBytes() {
        try {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(buf);
            for (Piece p : pieces) {
                out.writeByteArray(MODEL_PIECES, piece(p));
            }
            out.writeByteArray(MODEL_TRAINER_SPEC, trainerSpec());
            out.writeByteArray(MODEL_NORMALIZER_SPEC, normalizerSpec());
            out.flush();
            return buf.toByteArray();
        } catch (IOException e) {
            throw new CogVideoException("cannot serialize the SentencePiece model: " + e.getMessage(), e);
        }
    }

    /** Writes the model to {@code file} atomically (a temporary file in the same folder, then a rename). */
    public void write(Path file) {
        byte[] bytes = toBytes();
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            // a fresh name beside the target (not createTempFile, which would leave the model readable by its owner
            // only): the file gets the usual permissions of a new file
            tmp = dir.resolve(file.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime()
                    + ".part");
            Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new CogVideoException("cannot write SentencePiece model " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed; that error is the one reported
                }
            }
        }
    }

    private static byte[] piece(Piece p) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(buf);
        out.writeString(PIECE_PIECE, p.text());
        out.writeFloat(PIECE_SCORE, p.score());
        out.writeEnum(PIECE_TYPE, p.type().protoValue());
        out.flush();
        return buf.toByteArray();
    }

    private byte[] trainerSpec() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(buf);
        out.writeEnum(TRAINER_MODEL_TYPE, SentencePieceProto.UNIGRAM);
        out.writeInt32(TRAINER_VOCAB_SIZE, pieces.size());
        for (Piece p : pieces) {
            if (p.type() == Type.CONTROL && !isReservedControl(p.text())) {
                out.writeString(TRAINER_CONTROL_SYMBOLS, p.text());
            }
        }
        for (Piece p : pieces) {
            if (p.type() == Type.USER_DEFINED) {
                out.writeString(TRAINER_USER_DEFINED_SYMBOLS, p.text());
            }
        }
        out.writeBool(TRAINER_BYTE_FALLBACK, false);
        int unk = unknownId();
        out.writeInt32(TRAINER_UNK_ID, unk);
        out.writeInt32(TRAINER_BOS_ID, controlId("<s>"));
        out.writeInt32(TRAINER_EOS_ID, controlId("</s>"));
        out.writeInt32(TRAINER_PAD_ID, controlId("<pad>"));
        out.writeString(TRAINER_UNK_SURFACE, " \u2047 ");
        out.writeString(TRAINER_UNK_PIECE, pieces.get(unk).text());
        out.writeString(TRAINER_BOS_PIECE, "<s>");
        out.writeString(TRAINER_EOS_PIECE, "</s>");
        out.writeString(TRAINER_PAD_PIECE, "<pad>");
        out.flush();
        return buf.toByteArray();
    }

    private static boolean isReservedControl(String text) {
        return text.equals("<s>") || text.equals("</s>") || text.equals("<pad>");
    }

    private byte[] normalizerSpec() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(buf);
        out.writeString(NORMALIZER_NAME_FIELD, NORMALIZER_NAME);
        out.writeBool(NORMALIZER_ADD_DUMMY_PREFIX, addDummyPrefix);
        out.writeBool(NORMALIZER_REMOVE_EXTRA_WHITESPACES, removeExtraWhitespaces);
        out.writeBool(NORMALIZER_ESCAPE_WHITESPACES, escapeWhitespaces);
        out.flush();
        return buf.toByteArray();
    }
}
