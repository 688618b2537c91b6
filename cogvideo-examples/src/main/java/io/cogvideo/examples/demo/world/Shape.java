package io.cogvideo.examples.demo.world;

import java.util.Optional;

/**
 * The three shapes of the demo world: a circle, an axis-aligned square and an upright isosceles triangle with its
 * base at the bottom. All three have width = height = the clip's size.
 */
public enum Shape {
    /** 圆形: a disc of diameter size. */
    CIRCLE("圆形", "circle"),
    /** 正方形: an axis-aligned square of side size. */
    SQUARE("正方形", "square"),
    /** 三角形: an upright isosceles triangle, base (width size) at the bottom, apex at the top, height size. */
    TRIANGLE("三角形", "triangle");

    private final String word;
    private final String english;

    Shape(String word, String english) {
        this.word = word;
        this.english = english;
    }

    /** The Chinese caption word, e.g. "圆形". */
    public String word() {
        return word;
    }

    /** A lower-case ASCII name, e.g. "circle". */
    public String english() {
        return english;
    }

    /** The shape whose caption word is {@code word} exactly, or empty. */
    public static Optional<Shape> ofWord(String word) {
        for (Shape s : values()) {
            if (s.word.equals(word)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }
}
