package io.cogvideo;

import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.spi.Backend;
import io.cogvideo.tokenizer.IceTokenizer;
import java.nio.file.Path;

/** Builds the default tokenizers from icetk's files. */
final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * icetk over a SentencePiece model with CogVideo's special tokens; text ids start after the model's image tokens
     * (20000 for the released model).
     */
    static PromptEncoder promptEncoder(Path iceTextModel, CogVideoConfig config) {
        IceTokenizer t = IceTokenizer.load(iceTextModel, config.imageVocabSize(), IceTokenizer.COGVIDEO_SPECIALS);
        if (t.vocabularySize() > config.vocabSize()) {
            throw new CogVideoException("text tokenizer " + iceTextModel + " has " + t.vocabularySize()
                    + " ids (with " + config.imageVocabSize() + " image tokens) but the model's vocabulary has "
                    + config.vocabSize() + " rows: tokenizer and checkpoint do not match");
        }
        return t;
    }

    static ImageDecoder imageDecoder(Path icePt, Backend backend) {
        return io.cogvideo.tokenizer.image.ImageTokenizer.load(icePt, backend).imageDecoder();
    }
}
