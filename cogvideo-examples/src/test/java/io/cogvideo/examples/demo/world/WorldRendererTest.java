package io.cogvideo.examples.demo.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The renderer, the clip geometry and the dataset. */
class WorldRendererTest {
    private static final int N = 96;
    private final WorldRenderer renderer = new WorldRenderer();

    @Test
    void deterministic() {
        for (Caption c : Caption.all()) {
            WorldClip a = WorldClip.random(c, 7);
            assertThat(WorldClip.random(c, 7)).isEqualTo(a);
            assertThat(renderer.render(a, 1.3, N)).isEqualTo(new WorldRenderer().render(a, 1.3, N));
        }
        assertThat(new WorldDataset(3, 11).clips()).isEqualTo(new WorldDataset(3, 11).clips());
        assertThat(new WorldDataset(3, 11).clips()).isNotEqualTo(new WorldDataset(3, 12).clips());
        assertThat(WorldClip.random(Caption.all().get(0), 1)).isNotEqualTo(WorldClip.random(Caption.all().get(0), 2));
    }

    @Test
    void interiorIsExactColourAndFarBackgroundExactlyWhite() {
        for (Caption c : Caption.all()) {
            WorldClip clip = WorldClip.random(c, c.index() * 31L);
            for (double t : new double[] {0, 1.7, 4}) {
                float[] f = renderer.render(clip, t, N);
                double[] centre = clip.centreAt(t);
                double cx = centre[0] * N;
                double cy = centre[1] * N;
                double s = clip.size() * N;
                float[] rgb = c.colour().rgb();
                // The shape's centre pixel is interior for all three shapes (triangle: half-width s/4 at mid-height).
                int ci = (int) Math.floor(cy);
                int cj = (int) Math.floor(cx);
                // Triangle: go a little lower, where it is wider.
                if (c.shape() == Shape.TRIANGLE) {
                    ci = (int) Math.floor(cy + s / 4);
                }
                for (int di = -1; di <= 1; di++) {
                    for (int dj = -1; dj <= 1; dj++) {
                        int p = (ci + di) * N + cj + dj;
                        assertThat(new float[] {f[p], f[N * N + p], f[2 * N * N + p]}).as("%s t=%s", c, t)
                                .containsExactly(rgb);
                    }
                }
                int white = 0;
                for (int i = 0; i < N; i++) {
                    for (int j = 0; j < N; j++) {
                        boolean far = j + 1 < cx - s / 2 - 0.01 || j > cx + s / 2 + 0.01 || i + 1 < cy - s / 2 - 0.01
                                || i > cy + s / 2 + 0.01;
                        if (far) {
                            int p = i * N + j;
                            assertThat(f[p]).isEqualTo(1f);
                            assertThat(f[N * N + p]).isEqualTo(1f);
                            assertThat(f[2 * N * N + p]).isEqualTo(1f);
                            white++;
                        }
                    }
                }
                assertThat(white).isGreaterThan(N * N / 2);
                for (float v : f) {
                    assertThat(v).isBetween(0f, 1f);
                }
            }
        }
    }

    @Test
    void coveredAreaMatchesShapeArea() {
        // Sum of coverage (distance from white along the red channel) ~ analytic area, for each shape.
        for (Shape shape : Shape.values()) {
            Caption c = new Caption(Colour.BLUE, shape, Direction.RIGHT);
            WorldClip clip = new WorldClip(c, 0.25, 0.3, 0.5);
            float[] f = renderer.render(clip, 0.37, N);
            double area = 0;
            float red = Colour.BLUE.rgb()[0];
            for (int p = 0; p < N * N; p++) {
                area += (1 - f[p]) / (1 - red);
            }
            double s = 0.25 * N;
            double expected = switch (shape) {
                case CIRCLE -> Math.PI * s * s / 4;
                case SQUARE -> s * s;
                case TRIANGLE -> s * s / 2;
            };
            assertThat(area).as("%s", shape).isCloseTo(expected, within(expected * 0.01));
        }
    }

    @Test
    void pathInsideCanvasForEveryCaptionAnd1000Seeds() {
        for (Caption c : Caption.all()) {
            for (long seed = 0; seed < 1000; seed++) {
                WorldClip clip = WorldClip.random(c, seed);
                double h = clip.size() / 2;
                assertThat(clip.size()).isBetween(WorldClip.MIN_SIZE, WorldClip.MAX_SIZE);
                for (double t : new double[] {0, WorldClip.DURATION_SECONDS}) {
                    double[] p = clip.centreAt(t);
                    assertThat(p[0] - h).isGreaterThanOrEqualTo(0);
                    assertThat(p[0] + h).isLessThanOrEqualTo(1);
                    assertThat(p[1] - h).isGreaterThanOrEqualTo(0);
                    assertThat(p[1] + h).isLessThanOrEqualTo(1);
                }
            }
        }
    }

    @Test
    void travelIsHalfTheCanvasOverFourSecondsAlongTheDirection() {
        for (Caption c : Caption.all()) {
            WorldClip clip = WorldClip.random(c, 5);
            double[] a = clip.centreAt(0);
            double[] b = clip.centreAt(4);
            double[] m = clip.centreAt(2);
            assertThat(b[0] - a[0]).isCloseTo(0.5 * c.direction().dx(), within(1e-12));
            assertThat(b[1] - a[1]).isCloseTo(0.5 * c.direction().dy(), within(1e-12));
            assertThat(m[0] - a[0]).isCloseTo(0.25 * c.direction().dx(), within(1e-12));
            assertThat(m[1] - a[1]).isCloseTo(0.25 * c.direction().dy(), within(1e-12));
        }
        Caption up = new Caption(Colour.RED, Shape.SQUARE, Direction.UP);
        WorldClip clip = WorldClip.random(up, 3);
        assertThat(clip.centreAt(4)[1]).isLessThan(clip.centreAt(0)[1]);
        assertThatThrownBy(() -> clip.centreAt(4.01)).hasMessageContaining("4.01").hasMessageContaining("[0, 4.0]");
        assertThatThrownBy(() -> clip.centreAt(-0.1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void constructorRejectsPathsThatLeaveTheCanvasAndBadSizes() {
        Caption right = new Caption(Colour.RED, Shape.CIRCLE, Direction.RIGHT);
        assertThatThrownBy(() -> new WorldClip(right, 0.25, 0.5, 0.5)).hasMessageContaining("leaves the canvas");
        assertThatThrownBy(() -> new WorldClip(right, 0.25, 0.1, 0.5)).hasMessageContaining("leaves the canvas");
        assertThatThrownBy(() -> new WorldClip(right, 0.3, 0.2, 0.5)).hasMessageContaining("size 0.3");
        assertThat(new WorldClip(right, 0.25, 0.125, 0.125).centreAt(4)[0]).isEqualTo(0.625);
    }

    @Test
    void antiAliasedEdgesAndSmoothSubPixelMotion() {
        for (Shape shape : Shape.values()) {
            Caption c = new Caption(Colour.GREEN, shape, Direction.RIGHT);
            WorldClip clip = new WorldClip(c, 0.25, 0.2, 0.503);
            float[] f = renderer.render(clip, 0.01, N);
            int between = 0;
            for (int p = 0; p < N * N; p++) {
                float r = f[p];
                if (r < 1f && r > Colour.GREEN.rgb()[0]) {
                    between++;
                }
            }
            assertThat(between).as("%s edge pixels", shape).isGreaterThan(20);
        }
        // A move of 1/20 pixel changes some edge pixels, by a small amount, never by a full step.
        for (Shape shape : Shape.values()) {
            Caption c = new Caption(Colour.RED, shape, Direction.RIGHT);
            WorldClip clip = new WorldClip(c, 0.25, 0.2, 0.5);
            double dt = WorldClip.DURATION_SECONDS / (WorldClip.TRAVEL * N) / 20; // 1/20 px
            float[] a = renderer.render(clip, 1.0, N);
            float[] b = renderer.render(clip, 1.0 + dt, N);
            float maxDiff = 0;
            int changed = 0;
            for (int p = 0; p < a.length; p++) {
                float d = Math.abs(a[p] - b[p]);
                maxDiff = Math.max(maxDiff, d);
                if (d > 0) {
                    changed++;
                }
            }
            assertThat(changed).as("%s pixels changed", shape).isGreaterThan(0);
            assertThat(maxDiff).as("%s largest change", shape).isLessThan(0.25f);
        }
    }

    @Test
    void videoFramesAndImage() {
        WorldClip clip = WorldClip.random(new Caption(Colour.YELLOW, Shape.TRIANGLE, Direction.DOWN), 9);
        float[][] v8 = renderer.video(clip, 8, N);
        assertThat(v8).hasNumberOfRows(33);
        assertThat(v8[0]).hasSize(3 * N * N);
        assertThat(v8[32]).isEqualTo(renderer.render(clip, 4.0, N));
        assertThat(v8[12]).isEqualTo(renderer.render(clip, 1.5, N));
        float[][] v1 = renderer.video(clip, 1, N);
        assertThat(v1).hasNumberOfRows(5);
        assertThat(v1[2]).isEqualTo(v8[16]);
        BufferedImage img = renderer.renderImage(clip, 0, N);
        assertThat(img.getWidth()).isEqualTo(N);
        assertThat(img.getRGB(0, 0) & 0xFFFFFF).isIn(0xFFFFFF, Colour.YELLOW.packed());
        double[] c = clip.centreAt(0);
        int x = (int) (c[0] * N);
        int y = (int) ((c[1] + clip.size() / 4) * N);
        assertThat(img.getRGB(x, y) & 0xFFFFFF).isEqualTo(Colour.YELLOW.packed());
        assertThatThrownBy(() -> renderer.video(clip, 0, N)).hasMessageContaining("frameRate 0");
        assertThatThrownBy(() -> renderer.render(clip, 0, 4)).hasMessageContaining("canvas 4");
    }

    @Test
    void fastEnough() {
        WorldClip clip = WorldClip.random(new Caption(Colour.BLUE, Shape.CIRCLE, Direction.LEFT), 1);
        for (int i = 0; i < 2000; i++) {
            renderer.render(clip, (i % 33) / 8.0, N);
        }
        int n = 2000;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            renderer.render(clip, (i % 33) / 8.0, N);
        }
        double ms = (System.nanoTime() - t0) / 1e6 / n;
        System.out.printf("render 96x96: %.4f ms/frame%n", ms);
        assertThat(ms).isLessThan(1.0);
    }

    @Test
    void datasetCoversEveryCaptionAndSplits() {
        WorldDataset ds = new WorldDataset(4, 42);
        List<WorldDataset.Item> items = ds.items();
        assertThat(items).hasSize(192);
        assertThat(ds.size()).isEqualTo(192);
        for (Caption c : Caption.all()) {
            assertThat(items.stream().filter(it -> it.caption().equals(c)).count()).isEqualTo(4);
        }
        assertThat(items.stream().map(WorldDataset.Item::clip).distinct().count()).isEqualTo(192);
        assertThat(items.get(5).clip()).isEqualTo(WorldClip.random(items.get(5).caption(), items.get(5).seed()));
        WorldDataset.Split split = ds.split(4);
        assertThat(split.heldOut()).hasSize(48);
        assertThat(split.training()).hasSize(144);
        assertThat(split.heldOut().stream().map(WorldDataset.Item::caption).distinct().count()).isEqualTo(48);
        assertThat(split.training()).doesNotContainAnyElementsOf(split.heldOut());
        assertThatThrownBy(() -> ds.split(5)).hasMessageContaining("every 5");
        assertThatThrownBy(() -> new WorldDataset(0, 1)).hasMessageContaining("videosPerCaption 0");
    }
}
