package io.cogvideo.examples.demo.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WorldClipGridTest {
    private static final int CANVAS = 96;

    private static double corner(double centre) {
        return centre * CANVAS - WorldClip.NOMINAL_SIZE * CANVAS / 2;
    }

    @Test
    void everyKeyFrameOfEveryCaptionSitsOnTheGridWithTheNominalSize() {
        for (Caption c : Caption.all()) {
            for (long seed = 0; seed < 40; seed++) {
                WorldClip clip = WorldClip.onGrid(c, seed, CANVAS, 4, 8);
                assertThat(clip.size()).isEqualTo(WorldClip.NOMINAL_SIZE);
                for (int k = 0; k <= 4; k++) {
                    double[] centre = clip.centreAt(k);
                    double along = corner(c.direction().horizontal() ? centre[0] : centre[1]);
                    double across = corner(c.direction().horizontal() ? centre[1] : centre[0]);
                    // key frames are 12 px apart: corners at multiples of 4 along, 8 across
                    assertThat(along / 4).isCloseTo(Math.rint(along / 4), org.assertj.core.data.Offset.offset(1e-9));
                    assertThat(across / 8).isCloseTo(Math.rint(across / 8), org.assertj.core.data.Offset.offset(1e-9));
                    assertThat(along).isBetween(-1e-9, CANVAS - 24 + 1e-9);
                    assertThat(across).isBetween(-1e-9, CANVAS - 24 + 1e-9);
                }
            }
        }
    }

    @Test
    void placementsAreDeterministicAndCoverTheGrid() {
        Caption right = Caption.of("红色圆形向右移动");
        assertThat(WorldClip.onGrid(right, 7, CANVAS, 4, 8)).isEqualTo(WorldClip.onGrid(right, 7, CANVAS, 4, 8));
        Set<String> starts = new HashSet<>();
        for (long seed = 0; seed < 2000; seed++) {
            WorldClip clip = WorldClip.onGrid(right, seed, CANVAS, 4, 8);
            starts.add(Math.round(corner(clip.startX())) + "," + Math.round(corner(clip.startY())));
        }
        // along: 0, 4, ..., 24 (7 starts whose 48 px path fits); across: 0, 8, ..., 72 (10)
        assertThat(starts).hasSize(70).contains("0,0", "24,72");
    }

    @Test
    void gridDatasetsUseTheGridAndPlainOnesDoNot() {
        WorldDataset grid = new WorldDataset(3, 5, new WorldDataset.Grid(CANVAS, 4, 8));
        assertThat(grid.clips()).allSatisfy(c -> assertThat(c.size()).isEqualTo(WorldClip.NOMINAL_SIZE));
        assertThat(new WorldDataset(3, 5).clips()).anySatisfy(
                c -> assertThat(c.size()).isNotEqualTo(WorldClip.NOMINAL_SIZE));
    }

    @Test
    void badGridsFailNamingTheValue() {
        Caption c = Caption.all().get(0);
        assertThatThrownBy(() -> WorldClip.onGrid(c, 1, 90, 4, 8)).hasMessageContaining("canvas 90");
        assertThatThrownBy(() -> WorldClip.onGrid(c, 1, CANVAS, 0, 8)).hasMessageContaining("grid steps 0 x 8");
        assertThatThrownBy(() -> new WorldDataset.Grid(CANVAS, 4, 200)).hasMessageContaining("200");
    }
}
