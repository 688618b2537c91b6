package io.cogvideo.examples.demo.world;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A prompt of the demo world: {@code {颜色}{形状}{方向}}, e.g. "红色圆形向右移动"; the training variant prefixes
 * "一个" ("一个红色圆形向右移动").
 *
 * @param colour the fill colour
 * @param shape the shape
 * @param direction the motion
 */
public record Caption(Colour colour, Shape shape, Direction direction) {
    /** The prefix of the training variant. */
    public static final String VARIANT_PREFIX = "一个";

    private static final List<Caption> ALL;

    static {
        List<Caption> all = new ArrayList<>(48);
        for (Colour c : Colour.values()) {
            for (Shape s : Shape.values()) {
                for (Direction d : Direction.values()) {
                    all.add(new Caption(c, s, d));
                }
            }
        }
        ALL = Collections.unmodifiableList(all);
    }

    /** Validates that no part is null. */
    public Caption {
        Objects.requireNonNull(colour, "colour");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(direction, "direction");
    }

    /** The caption text, {@code {颜色}{形状}{方向}}. */
    public String text() {
        return colour.word() + shape.word() + direction.word();
    }

    /** The training variant, "一个" + {@link #text()}. */
    public String variant() {
        return VARIANT_PREFIX + text();
    }

    /** An ASCII name such as "red circle right" (labels, file names with '-' instead of spaces). */
    public String asciiName() {
        return colour.english() + " " + shape.english() + " " + direction.english();
    }

    /** The position of this caption in {@link #all()}: colour-major, then shape, then direction (0..47). */
    public int index() {
        return (colour.ordinal() * Shape.values().length + shape.ordinal()) * Direction.values().length
                + direction.ordinal();
    }

    /**
     * Parses a caption in either form ({@link #text()} or {@link #variant()}), after trimming surrounding
     * whitespace.
     *
     * @return the caption, or empty when the text is null or not exactly one colour word, one shape word and one
     *     direction word (optionally preceded by "一个")
     */
    public static Optional<Caption> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String s = text.strip();
        if (s.startsWith(VARIANT_PREFIX)) {
            s = s.substring(VARIANT_PREFIX.length());
        }
        for (Colour c : Colour.values()) {
            if (!s.startsWith(c.word())) {
                continue;
            }
            String rest = s.substring(c.word().length());
            for (Shape sh : Shape.values()) {
                if (!rest.startsWith(sh.word())) {
                    continue;
                }
                Optional<Direction> d = Direction.ofWord(rest.substring(sh.word().length()));
                if (d.isPresent()) {
                    return Optional.of(new Caption(c, sh, d.get()));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Like {@link #parse(String)}, but throws.
     *
     * @throws IllegalArgumentException naming the text and the accepted form when it is not a caption
     */
    public static Caption of(String text) {
        return parse(text).orElseThrow(() -> new IllegalArgumentException("not a caption of the demo world: '"
                + text + "'; expected [一个]{颜色}{形状}{方向} with 颜色 in 红色/绿色/蓝色/黄色, 形状 in 圆形/正方形/三角形, "
                + "方向 in 向左移动/向右移动/向上移动/向下移动"));
    }

    /** The 48 captions in a stable order (colour-major, then shape, then direction, each in enum order). */
    public static List<Caption> all() {
        return ALL;
    }
}
