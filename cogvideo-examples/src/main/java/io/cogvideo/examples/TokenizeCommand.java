package io.cogvideo.examples;

import io.cogvideo.tokenizer.IceTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Text to icetk ids and back. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Show how icetk tokenizes a text (pieces and ids, with CogVideo's special tokens), or decode ids.")
final class TokenizeCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TEXT", description = "Text to tokenize.")
    String text;

    @Option(names = "--text-tokenizer", paramLabel = "FILE",
            description = "icetk's ice_text.model (default: the demo model's tiny tokenizer).")
    Path model;

    @Option(names = "--image-tokens", paramLabel = "N", description = "Image tokens before the text ids "
            + "(20000 for icetk; default: 20000 with --text-tokenizer, 512 for the demo tokenizer).")
    Integer imageTokens;

    @Option(names = "--decode", split = ",", paramLabel = "IDS", description = "Comma-separated ids to decode instead.")
    int[] decode;

    /**
     * Largest {@code --image-tokens}: text ids are {@code N + piece id} and must stay well inside an int; the largest
     * image vocabulary in use is icetk's 20000.
     */
    static final int MAX_IMAGE_TOKENS = 1 << 24;

    @Override
    public Integer call() {
        if (imageTokens != null && (imageTokens < 0 || imageTokens > MAX_IMAGE_TOKENS)) {
            throw new io.cogvideo.CogVideoException("--image-tokens must be in [0, " + MAX_IMAGE_TOKENS + "] (text "
                    + "ids are N + piece id and must fit an int; icetk has 20000), got " + imageTokens);
        }
        if (decode != null && text != null) {
            throw new io.cogvideo.CogVideoException("give a TEXT to tokenize or --decode IDS, not both (got TEXT \""
                    + text + "\" and --decode)");
        }
        Path m = model;
        int offset;
        if (m == null) {
            m = DemoAssets.install().textTokenizer();
            offset = imageTokens != null ? imageTokens : 512;
        } else {
            offset = imageTokens != null ? imageTokens : IceTokenizer.ICETK_IMAGE_TOKENS;
        }
        IceTokenizer t = IceTokenizer.load(m, offset, IceTokenizer.COGVIDEO_SPECIALS);
        if (decode != null) {
            System.out.println(t.decode(decode));
            return 0;
        }
        if (text == null) {
            throw new io.cogvideo.CogVideoException("give a TEXT to tokenize or --decode IDS");
        }
        System.out.println("pieces: " + t.tokenize(text));
        System.out.println("ids:    " + Arrays.toString(t.encode(text)));
        return 0;
    }
}
