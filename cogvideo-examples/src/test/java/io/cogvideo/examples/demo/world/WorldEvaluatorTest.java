package io.cogvideo.examples.demo.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The evaluator on rendered ground truth, on wrong captions, on blank and noise videos. */
class WorldEvaluatorTest {
    private static final int N = 96;
    private final WorldRenderer renderer = new WorldRenderer();
    private final WorldEvaluator evaluator = new WorldEvaluator();

    @Test
    void groundTruthOfAll48CaptionsScoresFull() {
        List<EvaluationReport.Row> rows = new ArrayList<>();
        for (Caption c : Caption.all()) {
            for (long seed = 0; seed < 2; seed++) {
                WorldClip clip = WorldClip.random(c, seed);
                float[][] video = renderer.video(clip, 8, N);
                VideoScore s = evaluator.score(video, N, N, c);
                assertThat(s.passed()).as(s.summary()).isTrue();
                assertThat(s.colour()).isEqualTo(c.colour());
                assertThat(s.shape()).isEqualTo(c.shape());
                assertThat(s.direction()).isEqualTo(c.direction());
                assertThat(s.colourFrames()).isEqualTo(33);
                assertThat(s.shapeFrames()).isEqualTo(33);
                assertThat(s.missingFrames()).isZero();
                assertThat(s.smoothness()).isEqualTo(1.0);
                assertThat(s.travel()).as(s.summary()).isCloseTo(0.5, within(0.005));
                assertThat(s.travelAlongCaption()).isCloseTo(0.5, within(0.005));
                assertThat(s.summary()).startsWith("PASS " + c.asciiName());
                rows.add(new EvaluationReport.Row(c, seed, s));
            }
        }
        EvaluationReport report = new EvaluationReport(rows);
        assertThat(report.colourFraction()).isEqualTo(1.0);
        assertThat(report.directionFraction()).isEqualTo(1.0);
        assertThat(report.shapeFraction()).isEqualTo(1.0);
        assertThat(report.smoothness()).isEqualTo(1.0);
        assertThat(report.accepted()).isTrue();
        assertThat(report.perCaption()).hasSize(48);
    }

    @Test
    void fillRatiosOfGroundTruthSitBetweenTheCuts() {
        // The measurement behind TRIANGLE_MAX_FILL and CIRCLE_MAX_FILL (see the WorldEvaluator javadoc: the cuts were
        // set from seeds 0..9; this re-measures seeds 0..3 to stay fast).
        Map<Shape, double[]> range = new EnumMap<>(Shape.class);
        int frames = 0;
        for (Caption c : Caption.all()) {
            for (long seed = 0; seed < 4; seed++) {
                float[][] video = renderer.video(WorldClip.random(c, seed), 8, N);
                for (float[] f : video) {
                    FrameMeasure m = evaluator.measure(f, N, N);
                    assertThat(m.found()).isTrue();
                    double[] r = range.computeIfAbsent(c.shape(), k -> new double[] {1, 0});
                    r[0] = Math.min(r[0], m.fill());
                    r[1] = Math.max(r[1], m.fill());
                    frames++;
                }
            }
        }
        range.forEach((s, r) -> System.out.printf("fill %-8s %.3f .. %.3f%n", s, r[0], r[1]));
        System.out.println("frames measured: " + frames);
        double margin = 0.03;
        assertThat(range.get(Shape.TRIANGLE)[1]).isLessThan(WorldEvaluator.TRIANGLE_MAX_FILL - margin);
        assertThat(range.get(Shape.CIRCLE)[0]).isGreaterThan(WorldEvaluator.TRIANGLE_MAX_FILL + margin);
        assertThat(range.get(Shape.CIRCLE)[1]).isLessThan(WorldEvaluator.CIRCLE_MAX_FILL - margin);
        assertThat(range.get(Shape.SQUARE)[0]).isGreaterThan(WorldEvaluator.CIRCLE_MAX_FILL + margin);
    }

    @Test
    void blurredNoisyGroundTruthStillPasses() {
        // What a decoder might do to a frame: blur (box 3 x 3 or 5 x 5) and per-pixel noise (sigma 0.05).
        SplittableRandom rnd = new SplittableRandom(3);
        for (int radius = 1; radius <= 2; radius++) {
            for (Caption c : Caption.all()) {
                float[][] video = renderer.video(WorldClip.random(c, 40 + radius), 1, N); // 5 frames: blurring is slow
                for (int k = 0; k < video.length; k++) {
                    video[k] = degrade(video[k], radius, 0.05, rnd);
                }
                VideoScore s = evaluator.score(video, N, N, c);
                assertThat(s.passed()).as("blur radius %d: %s", radius, s.summary()).isTrue();
                assertThat(s.missingFrames()).isZero();
            }
        }
    }

    private static float[] degrade(float[] f, int radius, double sigma, SplittableRandom rnd) {
        float[] out = new float[f.length];
        int plane = N * N;
        for (int ch = 0; ch < 3; ch++) {
            for (int i = 0; i < N; i++) {
                for (int j = 0; j < N; j++) {
                    double sum = 0;
                    int n = 0;
                    for (int ii = Math.max(0, i - radius); ii <= Math.min(N - 1, i + radius); ii++) {
                        for (int jj = Math.max(0, j - radius); jj <= Math.min(N - 1, j + radius); jj++) {
                            sum += f[ch * plane + ii * N + jj];
                            n++;
                        }
                    }
                    double g = Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
                    out[ch * plane + i * N + j] = (float) Math.max(0, Math.min(1, sum / n + sigma * g));
                }
            }
        }
        return out;
    }

    @Test
    void openingRemovesSpecksAndKeepsRectangles() {
        int w = 12;
        boolean[] m = new boolean[w * w];
        for (int i = 2; i < 7; i++) {
            for (int j = 3; j < 9; j++) {
                m[i * w + j] = true;
            }
        }
        m[10 * w + 10] = true; // a speck
        m[7 * w + 5] = true; // a one-pixel bump on the rectangle's edge
        boolean[] o = WorldEvaluator.open3x3(m, w, w);
        for (int p = 0; p < m.length; p++) {
            int i = p / w;
            int j = p % w;
            assertThat(o[p]).as("(%d, %d)", i, j).isEqualTo(i >= 2 && i < 7 && j >= 3 && j < 9);
        }
    }

    @Test
    void wrongCaptionFailsTheRightCheck() {
        Caption asked = new Caption(Colour.RED, Shape.CIRCLE, Direction.RIGHT);
        float[][] video = renderer.video(WorldClip.random(asked, 3), 8, N);

        VideoScore wrongColour = evaluator.score(video, N, N, new Caption(Colour.YELLOW, Shape.CIRCLE, Direction.RIGHT));
        assertThat(wrongColour.colourOk()).isFalse();
        assertThat(wrongColour.colour()).isEqualTo(Colour.RED);
        assertThat(wrongColour.shapeOk()).isTrue();
        assertThat(wrongColour.directionOk()).isTrue();
        assertThat(wrongColour.passed()).isFalse();
        assertThat(wrongColour.summary()).startsWith("FAIL").contains("colour red WRONG");

        VideoScore wrongShape = evaluator.score(video, N, N, new Caption(Colour.RED, Shape.TRIANGLE, Direction.RIGHT));
        assertThat(wrongShape.shapeOk()).isFalse();
        assertThat(wrongShape.shape()).isEqualTo(Shape.CIRCLE);
        assertThat(wrongShape.colourOk()).isTrue();
        assertThat(wrongShape.directionOk()).isTrue();
        assertThat(wrongShape.passed()).isFalse();

        VideoScore opposite = evaluator.score(video, N, N, new Caption(Colour.RED, Shape.CIRCLE, Direction.LEFT));
        assertThat(opposite.directionOk()).isFalse();
        assertThat(opposite.direction()).isEqualTo(Direction.RIGHT);
        assertThat(opposite.travelAlongCaption()).isCloseTo(-0.5, within(0.005));
        assertThat(opposite.smoothness()).isZero();
        assertThat(opposite.colourOk()).isTrue();
        assertThat(opposite.shapeOk()).isTrue();

        VideoScore across = evaluator.score(video, N, N, new Caption(Colour.RED, Shape.CIRCLE, Direction.UP));
        assertThat(across.directionOk()).isFalse();
        assertThat(across.smoothness()).isLessThan(0.8);
        assertThat(across.passed()).isFalse();

        // A shape that barely moves: right direction, too little travel.
        WorldClip slow = new WorldClip(asked, 0.25, 0.3, 0.5);
        float[][] still = new float[33][];
        for (int k = 0; k < 33; k++) {
            still[k] = renderer.render(slow, k * 0.02, N);
        }
        VideoScore short_ = evaluator.score(still, N, N, asked);
        assertThat(short_.direction()).isEqualTo(Direction.RIGHT);
        assertThat(short_.travel()).isLessThan(WorldEvaluator.MIN_TRAVEL);
        assertThat(short_.directionOk()).isFalse();
    }

    @Test
    void allWhiteVideoFailsWithNoShape() {
        float[][] white = new float[33][3 * N * N];
        for (float[] f : white) {
            Arrays.fill(f, 1f);
        }
        Caption c = Caption.all().get(5);
        VideoScore s = evaluator.score(white, N, N, c);
        assertThat(s.missingFrames()).isEqualTo(33);
        assertThat(s.passed()).isFalse();
        assertThat(s.colourOk() || s.shapeOk() || s.directionOk()).isFalse();
        assertThat(s.colour()).isNull();
        assertThat(s.direction()).isNull();
        assertThat(s.smoothness()).isZero();
        assertThat(s.summary()).startsWith("FAIL").contains("no shape");
        assertThat(s.frames().get(0).reason()).isEqualTo("no shape");
    }

    @Test
    void pureNoiseFails() {
        SplittableRandom rnd = new SplittableRandom(1);
        float[][] noise = new float[33][3 * N * N];
        for (float[] f : noise) {
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) rnd.nextDouble();
            }
        }
        for (Caption c : List.of(Caption.all().get(0), Caption.all().get(30))) {
            VideoScore s = evaluator.score(noise, N, N, c);
            assertThat(s.passed()).as(s.summary()).isFalse();
            assertThat(s.colourOk()).isFalse();
            assertThat(s.shapeOk()).isFalse();
            assertThat(s.directionOk()).isFalse();
            assertThat(s.missingFrames()).isEqualTo(33);
        }
    }

    @Test
    void oneAndEightFpsTravelTheSame() {
        for (Caption c : Caption.all()) {
            WorldClip clip = WorldClip.random(c, 17);
            VideoScore s1 = evaluator.score(renderer.video(clip, 1, N), N, N, c);
            VideoScore s8 = evaluator.score(renderer.video(clip, 8, N), N, N, c);
            assertThat(s1.frameCount()).isEqualTo(5);
            assertThat(s8.frameCount()).isEqualTo(33);
            assertThat(s1.passed()).as(s1.summary()).isTrue();
            assertThat(WorldEvaluator.compareTravel(s1, s8)).isLessThan(0.05);
        }
    }

    @Test
    void imagesScoreLikeFloatFrames() {
        Caption c = new Caption(Colour.GREEN, Shape.TRIANGLE, Direction.UP);
        WorldClip clip = WorldClip.random(c, 4);
        List<BufferedImage> imgs = new ArrayList<>();
        for (int k = 0; k <= 32; k++) {
            imgs.add(renderer.renderImage(clip, k / 8.0, N));
        }
        VideoScore fromImages = evaluator.score(imgs, c);
        VideoScore fromFloats = evaluator.score(renderer.video(clip, 8, N), N, N, c);
        assertThat(fromImages.passed()).as(fromImages.summary()).isTrue();
        assertThat(fromImages.travel()).isCloseTo(fromFloats.travel(), within(0.005));
    }

    @Test
    void rejectsMalformedInput() {
        Caption c = Caption.all().get(0);
        assertThatThrownBy(() -> evaluator.score(new float[1][3 * N * N], N, N, c)).hasMessageContaining("at least 2");
        assertThatThrownBy(() -> evaluator.measure(new float[10], N, N)).hasMessageContaining("10 values");
        assertThatThrownBy(() -> evaluator.measure(new float[12], 2, 2)).hasMessageContaining("2 x 2");
    }
}
