package io.cogvideo;

import io.cogvideo.generation.ImageDecoder;
import io.cogvideo.generation.PromptEncoder;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.spi.Backend;
import java.nio.file.Path;

/** Builds the default tokenizers from icetk's files. */
final class Tokenizers {
    private Tokenizers() {
    }

    static PromptEncoder promptEncoder(Path iceTextModel, CogVideoConfig config) {
        throw new CogVideoException("text tokenizer files are not supported yet: " + iceTextModel);
    }

    static ImageDecoder imageDecoder(Path icePt, Backend backend) {
        return io.cogvideo.tokenizer.image.ImageTokenizer.load(icePt, backend).imageDecoder();
    }
}
