package io.cogvideo.examples.demo.world;

import java.util.Optional;

/**
 * The four colours of the demo world (docs/demo-model.md), each with its Chinese caption word and its exact sRGB value.
 * Shapes are filled with exactly this colour in their interior; the background is white (255, 255, 255).
 */
public enum Colour {
    /** 红色, (220, 40, 40). */
    RED("红色", "red", 220, 40, 40),
    /** 绿色, (40, 170, 60). */
    GREEN("绿色", "green", 40, 170, 60),
    /** 蓝色, (40, 90, 220). */
    BLUE("蓝色", "blue", 40, 90, 220),
    /** 黄色, (235, 190, 30). */
    YELLOW("黄色", "yellow", 235, 190, 30);

    private final String word;
    private final String english;
    private final int r;
    private final int g;
    private final int b;

    Colour(String word, String english, int r, int g, int b) {
        this.word = word;
        this.english = english;
        this.r = r;
        this.g = g;
        this.b = b;
    }

    /** The Chinese caption word, e.g. "红色". */
    public String word() {
        return word;
    }

    /** A lower-case ASCII name, e.g. "red" (for labels where a Chinese font may be missing). */
    public String english() {
        return english;
    }

    /** Red channel, 0..255. */
    public int red() {
        return r;
    }

    /** Green channel, 0..255. */
    public int green() {
        return g;
    }

    /** Blue channel, 0..255. */
    public int blue() {
        return b;
    }

    /** The colour as three floats in [0, 1]: {r / 255, g / 255, b / 255}. */
    public float[] rgb() {
        return new float[] {r / 255f, g / 255f, b / 255f};
    }

    /** The colour packed as 0xRRGGBB. */
    public int packed() {
        return (r << 16) | (g << 8) | b;
    }

    /** The colour whose caption word is {@code word} exactly, or empty. */
    public static Optional<Colour> ofWord(String word) {
        for (Colour c : values()) {
            if (c.word.equals(word)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }
}
