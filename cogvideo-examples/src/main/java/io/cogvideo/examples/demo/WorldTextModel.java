package io.cogvideo.examples.demo;

import io.cogvideo.examples.demo.world.Caption;
import io.cogvideo.examples.demo.world.Colour;
import io.cogvideo.examples.demo.world.Direction;
import io.cogvideo.examples.demo.world.Shape;
import java.util.Arrays;
import io.cogvideo.CogVideoException;
import io.cogvideo.tokenizer.IceTokenizer;
import io.cogvideo.tokenizer.SentencePieceWriter;
import io.cogvideo.tokenizer.SentencePieceWriter.Piece;
import io.cogvideo.tokenizer.SentencePieceWriter.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The demo world's text model (docs/demo-model.md): a SentencePiece unigram model written, not trained, that covers
 * exactly the strings the demo's pipeline builds: the 48 captions {@code {颜色}{形状}{方向}} and their training variant
 * {@code 一个{颜色}{形状}{方向}}, the first-frame suffix {@code " 高清摄影"}, the video suffix and guidance text
 * {@code 视频}, and the duration prefixes {@code "4.0秒"}, {@code "2.0秒"}, {@code "1.0秒"}, {@code "0.5秒"}.
 *
 * <p>Pieces, in id order, laid out as icetk's {@code ice_text.model}: {@code <unk>} 0 (UNKNOWN), {@code <s>} 1,
 * {@code </s>} 2, {@code <pad>} 3 (CONTROL), {@code <n>} 4 (USER_DEFINED); then the whitespace marker {@code ▁},
 * the digits 0-9 and {@code .}, every character of the world's words (first-seen order), and finally the whole
 * words. Loaded by {@link IceTokenizer} with the image-token count as offset and CogVideo's three specials appended,
 * so with 512 image tokens {@code <pad>} is 515, {@code <n>} 516 and {@code <start_of_image>} {@code 512 +}
 * {@link #pieceCount()}.
 *
 * <p>Character level with whole words on top: every character is a piece (score {@value #CHAR_SCORE}), so any
 * string over the world's alphabet encodes without {@code <unk>}; each world word (colour, shape, direction,
 * {@code 一个}, {@code 高清摄影}, {@code 视频}) is also a piece with the higher score {@value #WORD_SCORE}, which the
 * unigram Viterbi prefers to its characters (one word beats two or more characters). A caption then encodes as one
 * token per attribute (the small transformer conditions on one embedding for the colour, one for the shape, one for
 * the motion) and the longest stage-1 text takes 13 of the layout's 32 text slots (21 at pure character level).
 * Whitespace handling is SentencePiece's default (dummy prefix, collapse, escape as {@code ▁}), as icetk's model.
 * Immutable and thread-safe.
 */
public final class WorldTextModel {
    /** Colours, in the world's order. */
    public static final List<String> COLOURS = Arrays.stream(Colour.values()).map(Colour::word).toList();
    /** Shapes: circle, square, triangle. */
    public static final List<String> SHAPES = Arrays.stream(Shape.values()).map(Shape::word).toList();
    /** Motions: left, right, up, down. */
    public static final List<String> DIRECTIONS = Arrays.stream(Direction.values()).map(Direction::word).toList();
    /** The article of the training captions ({@code 一个{颜色}{形状}{方向}}). */
    public static final String ARTICLE = Caption.VARIANT_PREFIX;
    /** The pipeline's own words: first-frame suffix, video suffix / guidance text, and the duration unit. */
    public static final List<String> PIPELINE_WORDS = List.of("高清摄影", "视频", "秒");

    /** SentencePiece ids (without the image offset), as icetk's text ids. */
    public static final int UNK_ID = 0;
    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    public static final int PAD_ID = 3;
    public static final int NEWLINE_ID = 4;

    /** Score (log-probability) of a single-character piece. */
    public static final float CHAR_SCORE = -10f;
    /** Score of a whole-word piece: above any split of it into two or more characters. */
    public static final float WORD_SCORE = -5f;

    private final List<Piece> pieces;

    private WorldTextModel(List<Piece> pieces) {
        this.pieces = List.copyOf(pieces);
    }

    /** The world's model. */
    public static WorldTextModel create() {
        List<Piece> p = new ArrayList<>();
        p.add(new Piece("<unk>", 0f, Type.UNKNOWN));
        p.add(new Piece("<s>", 0f, Type.CONTROL));
        p.add(new Piece("</s>", 0f, Type.CONTROL));
        p.add(new Piece("<pad>", 0f, Type.CONTROL));
        p.add(new Piece("<n>", 0f, Type.USER_DEFINED));
        Set<String> chars = new LinkedHashSet<>();
        chars.add("\u2581");
        for (char d = '0'; d <= '9'; d++) {
            chars.add(String.valueOf(d));
        }
        chars.add(".");
        List<String> words = words();
        for (String w : words) {
            w.codePoints().forEach(c -> chars.add(new String(Character.toChars(c))));
        }
        for (String c : chars) {
            p.add(new Piece(c, CHAR_SCORE, Type.NORMAL));
        }
        for (String w : words) {
            if (w.codePointCount(0, w.length()) > 1) {
                p.add(new Piece(w, WORD_SCORE, Type.NORMAL));
            }
        }
        return new WorldTextModel(p);
    }

    /** Every word of the world and the pipeline, colours first. */
    public static List<String> words() {
        List<String> w = new ArrayList<>(COLOURS);
        w.addAll(SHAPES);
        w.addAll(DIRECTIONS);
        w.add(ARTICLE);
        w.addAll(PIPELINE_WORDS);
        return List.copyOf(w);
    }

    /** The 48 captions {@code {颜色}{形状}{方向}}, colour-major, then shape, then direction. */
    public static List<String> captions() {
        return Caption.all().stream().map(Caption::text).toList();
    }

    /** The 48 training captions {@code 一个{颜色}{形状}{方向}}, in the order of {@link #captions()}. */
    public static List<String> trainingCaptions() {
        return captions().stream().map(c -> ARTICLE + c).toList();
    }

    /** The pieces in id order. */
    public List<Piece> pieces() {
        return pieces;
    }

    /** Number of SentencePiece pieces in the written file. */
    public int pieceCount() {
        return pieces.size();
    }

    /**
     * Text vocabulary as the pipeline sees it: the pieces plus CogVideo's three appended specials
     * ({@link IceTokenizer#textVocabularySize()} of the loaded model).
     */
    public int textVocabularySize() {
        return pieces.size() + IceTokenizer.COGVIDEO_SPECIALS.size();
    }

    /** The whole vocabulary (image tokens, then text) for {@code imageTokens} image tokens. */
    public int vocabularySize(int imageTokens) {
        if (imageTokens < 1) {
            throw new CogVideoException("imageTokens = " + imageTokens + " is invalid; allowed: >= 1");
        }
        return imageTokens + textVocabularySize();
    }

    /** Writes the {@code .model} file (atomically). */
    public void write(Path file) {
        SentencePieceWriter.of(pieces).write(file);
    }

    /** Writes the model and loads it as the pipeline does: icetk ids offset by {@code imageTokens}, specials added. */
    public IceTokenizer writeAndLoad(Path file, int imageTokens) {
        write(file);
        return IceTokenizer.load(file, imageTokens, IceTokenizer.COGVIDEO_SPECIALS);
    }
}
