package io.cogvideo.testkit;

import io.cogvideo.tokenizer.PromptEncoder;

/**
 * A test tokenizer for the tiny golden checkpoints, whose vocabulary only has room for ids
 * {@code [imageTokens, startOfImage)}: each character maps to a text id by its code point.
 */
public final class TinyPromptEncoder implements PromptEncoder {
    private final int textBase;
    private final int textIds;
    private final int startOfImage;

    public TinyPromptEncoder(int textBase, int startOfImage) {
        this.textBase = textBase;
        this.startOfImage = startOfImage;
        this.textIds = startOfImage - textBase - 1; // keep one id for <n>
    }

    @Override
    public int[] encode(String text) {
        return text.codePoints().map(cp -> textBase + 1 + Math.floorMod(cp * 31, textIds - 1)).toArray();
    }

    @Override
    public int startOfImage() {
        return startOfImage;
    }

    @Override
    public int newline() {
        return textBase;
    }
}
