package io.cogvideo.tokenizer;

import io.cogvideo.CogVideoException;
import io.cogvideo.tokenizer.PromptEncoder;
import java.nio.file.Path;
import java.util.List;

/**
 * icetk's text side, as CogVideo uses it: one id space where ids below {@code numImageTokens} are image tokens and
 * text id = SentencePiece id + {@code numImageTokens}; optional special tokens appended to the SentencePiece model
 * with score 0 (CogVideo adds {@code <start_of_image>}, {@code <start_of_english>}, {@code <start_of_chinese>}, so
 * they get ids 150000-150002 with the real 130000-piece {@code ice_text.model}); {@code \n} ↔ {@code <n>}.
 * Immutable and thread-safe.
 */
public final class IceTokenizer implements PromptEncoder {
    /** icetk's image-token count. */
    public static final int ICETK_IMAGE_TOKENS = 20000;
    /** The special tokens CogVideo adds at start-up. */
    public static final List<String> COGVIDEO_SPECIALS = List.of("<start_of_image>", "<start_of_english>",
            "<start_of_chinese>");

    private final SentencePieceModel sp;
    private final int numImageTokens;

    public IceTokenizer(SentencePieceModel sp, int numImageTokens) {
        if (numImageTokens < 0) {
            throw new CogVideoException("numImageTokens must be >= 0, got " + numImageTokens);
        }
        this.sp = sp;
        this.numImageTokens = numImageTokens;
    }

    /** Loads a SentencePiece model and appends {@code specials} (score 0), as icetk's {@code add_special_tokens}. */
    public static IceTokenizer load(Path model, int numImageTokens, List<String> specials) {
        SentencePieceModel m = SentencePieceModel.load(model);
        if (!specials.isEmpty()) {
            m = m.withAppendedPieces(specials);
        }
        return new IceTokenizer(m, numImageTokens);
    }

    /** The underlying SentencePiece model (ids without the image offset). */
    public SentencePieceModel sentencePiece() {
        return sp;
    }

    public int numImageTokens() {
        return numImageTokens;
    }

    /** Text pieces (the SentencePiece vocabulary, specials included). */
    public int textVocabularySize() {
        return sp.size();
    }

    /** All ids: image tokens plus text pieces. */
    public int vocabularySize() {
        return numImageTokens + sp.size();
    }

    /** {@code encode(text)} with icetk's default {@code ignore_linebreak=True}. */
    @Override
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Text ids (+ image offset); with {@code ignoreLinebreak == false}, {@code \n} becomes {@code <n>} first. */
    public int[] encode(String text, boolean ignoreLinebreak) {
        String t = ignoreLinebreak ? text : text.replace("\n", "<n>");
        int[] ids = sp.encode(t).ids();
        for (int i = 0; i < ids.length; i++) {
            ids[i] += numImageTokens;
        }
        return ids;
    }

    /** Pieces of {@code text} (icetk {@code tokenize}). */
    public List<String> tokenize(String text) {
        return sp.encode(text).pieces();
    }

    /** Text of text ids (image offset removed); {@code <n>} becomes {@code \n}. */
    public String decode(int[] ids) {
        int[] raw = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < numImageTokens || ids[i] >= vocabularySize()) {
                throw new CogVideoException("text id " + ids[i] + " is outside [" + numImageTokens + ", "
                        + vocabularySize() + ")");
            }
            raw[i] = ids[i] - numImageTokens;
        }
        return sp.decode(raw).replace("<n>", "\n");
    }

    /** {@code icetk[token]}: {@code <image_K>} → K, else the piece's id + image offset (unknown piece → unk id). */
    public int tokenId(String token) {
        if (token.startsWith("<image_") && token.endsWith(">")) {
            try {
                int k = Integer.parseInt(token.substring(7, token.length() - 1));
                if (k >= 0 && k < numImageTokens) {
                    return k;
                }
            } catch (NumberFormatException e) {
                // a text piece that happens to look like this
            }
        }
        return sp.pieceToId(token) + numImageTokens;
    }

    /** {@code icetk[id]}: {@code <image_K>} for image ids, else the piece. */
    public String token(int id) {
        if (id < 0 || id >= vocabularySize()) {
            throw new CogVideoException("id " + id + " is outside the vocabulary [0, " + vocabularySize() + ")");
        }
        return id < numImageTokens ? "<image_" + id + ">" : sp.idToPiece(id - numImageTokens);
    }

    @Override
    public int startOfImage() {
        return tokenId("<start_of_image>");
    }

    @Override
    public int newline() {
        return tokenId("<n>");
    }
}
