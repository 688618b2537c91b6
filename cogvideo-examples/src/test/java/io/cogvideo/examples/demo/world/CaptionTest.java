package io.cogvideo.examples.demo.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Caption words, formatting and parsing. */
class CaptionTest {
    @Test
    void allIs48DistinctCaptionsInStableOrder() {
        List<Caption> all = Caption.all();
        assertThat(all).hasSize(48);
        assertThat(new HashSet<>(all)).hasSize(48);
        assertThat(all.get(0)).isEqualTo(new Caption(Colour.RED, Shape.CIRCLE, Direction.LEFT));
        assertThat(all.get(47)).isEqualTo(new Caption(Colour.YELLOW, Shape.TRIANGLE, Direction.DOWN));
        for (int i = 0; i < all.size(); i++) {
            assertThat(all.get(i).index()).isEqualTo(i);
        }
        assertThat(Caption.all()).isSameAs(all);
    }

    @Test
    void textAndVariant() {
        Caption c = new Caption(Colour.RED, Shape.CIRCLE, Direction.RIGHT);
        assertThat(c.text()).isEqualTo("红色圆形向右移动");
        assertThat(c.variant()).isEqualTo("一个红色圆形向右移动");
        assertThat(c.asciiName()).isEqualTo("red circle right");
        assertThat(new Caption(Colour.YELLOW, Shape.SQUARE, Direction.UP).text()).isEqualTo("黄色正方形向上移动");
    }

    @Test
    void roundTripAll48InBothForms() {
        for (Caption c : Caption.all()) {
            assertThat(Caption.parse(c.text())).contains(c);
            assertThat(Caption.parse(c.variant())).contains(c);
            assertThat(Caption.parse("  " + c.variant() + "\n")).contains(c);
            assertThat(Caption.of(c.text())).isEqualTo(c);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "一个", "紫色圆形向右移动", "红色星形向右移动", "红色圆形向前移动", "红色圆形", "红色圆形向右移动了",
        "两个红色圆形向右移动", "圆形红色向右移动", "red circle right", "一个一个红色圆形向右移动"})
    void rejectsUnknownWords(String text) {
        assertThat(Caption.parse(text)).isEmpty();
        assertThatThrownBy(() -> Caption.of(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(text).hasMessageContaining("红色/绿色/蓝色/黄色");
    }

    @Test
    void nullIsNotACaption() {
        assertThat(Caption.parse(null)).isEmpty();
    }

    @Test
    void wordLookups() {
        for (Colour c : Colour.values()) {
            assertThat(Colour.ofWord(c.word())).contains(c);
        }
        for (Shape s : Shape.values()) {
            assertThat(Shape.ofWord(s.word())).contains(s);
        }
        for (Direction d : Direction.values()) {
            assertThat(Direction.ofWord(d.word())).contains(d);
        }
        assertThat(Colour.ofWord("紫色")).isEmpty();
        assertThat(Shape.ofWord("星形")).isEmpty();
        assertThat(Direction.ofWord("向前移动")).isEmpty();
        assertThat(Colour.BLUE.packed()).isEqualTo(0x285ADC);
        assertThat(Direction.UP.dy()).isEqualTo(-1);
        assertThat(Direction.DOWN.dy()).isEqualTo(1);
        assertThat(Direction.LEFT.dx()).isEqualTo(-1);
    }
}
