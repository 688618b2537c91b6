package io.cogvideo.examples.demo.world;

import java.util.Optional;

/**
 * The four motions of the demo world, with their unit vectors in image coordinates (x to the right, y downwards):
 * UP is (0, -1).
 */
public enum Direction {
    /** 向左移动, (-1, 0). */
    LEFT("向左移动", "left", -1, 0),
    /** 向右移动, (1, 0). */
    RIGHT("向右移动", "right", 1, 0),
    /** 向上移动, (0, -1) in image coordinates. */
    UP("向上移动", "up", 0, -1),
    /** 向下移动, (0, 1) in image coordinates. */
    DOWN("向下移动", "down", 0, 1);

    private final String word;
    private final String english;
    private final int dx;
    private final int dy;

    Direction(String word, String english, int dx, int dy) {
        this.word = word;
        this.english = english;
        this.dx = dx;
        this.dy = dy;
    }

    /** The Chinese caption words, e.g. "向左移动". */
    public String word() {
        return word;
    }

    /** A lower-case ASCII name, e.g. "left". */
    public String english() {
        return english;
    }

    /** The x component of the unit motion vector (image coordinates): -1, 0 or 1. */
    public int dx() {
        return dx;
    }

    /** The y component of the unit motion vector (image coordinates, y down): -1, 0 or 1. */
    public int dy() {
        return dy;
    }

    /** True for LEFT and RIGHT. */
    public boolean horizontal() {
        return dy == 0;
    }

    /** The direction whose caption words are {@code word} exactly, or empty. */
    public static Optional<Direction> ofWord(String word) {
        for (Direction d : values()) {
            if (d.word.equals(word)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }
}
