package io.cogvideo.examples.demo.world;

import java.io.PrintWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The evaluation of many generated videos against the demo's acceptance criteria (issue #14):
 * <ul>
 *   <li>colour: at least {@link #COLOUR_TARGET} of the videos have the requested colour;</li>
 *   <li>direction: at least {@link #DIRECTION_TARGET} move the requested way with travel >=
 *       {@link WorldEvaluator#MIN_TRAVEL};</li>
 *   <li>shape: at least {@link #SHAPE_TARGET} have the requested shape;</li>
 *   <li>smoothness: at least {@link #SMOOTHNESS_TARGET} of ALL frame-to-frame steps (over every video) go the
 *       requested way.</li>
 * </ul>
 *
 * @param rows one row per video
 */
public record EvaluationReport(List<Row> rows) {
    /** Required fraction of videos with the right colour. */
    public static final double COLOUR_TARGET = 0.9;
    /** Required fraction of videos with the right direction (and enough travel). */
    public static final double DIRECTION_TARGET = 0.9;
    /** Required fraction of videos with the right shape. */
    public static final double SHAPE_TARGET = 0.8;
    /** Required fraction of all frame-to-frame steps that go the requested way. */
    public static final double SMOOTHNESS_TARGET = 0.8;

    /**
     * One scored video.
     *
     * @param caption the caption it was generated for
     * @param seed the seed it was generated with
     * @param score its score (for {@code caption})
     */
    public record Row(Caption caption, long seed, VideoScore score) {
        /** Validates that the score is for this caption. */
        public Row {
            Objects.requireNonNull(caption, "caption");
            Objects.requireNonNull(score, "score");
            if (!score.requested().equals(caption)) {
                throw new IllegalArgumentException("row for " + caption.text() + " holds a score for "
                        + score.requested().text());
            }
        }
    }

    /**
     * The rows of one caption, summed.
     *
     * @param caption the caption
     * @param videos rows for it
     * @param colourOk videos with the right colour
     * @param shapeOk videos with the right shape
     * @param directionOk videos with the right direction and enough travel
     * @param passed videos that pass every check
     * @param forwardSteps steps going the requested way
     * @param steps all steps
     * @param meanTravel mean travel (canvas fractions)
     * @param missingFrames frames without a shape
     * @param frames all frames
     */
    public record CaptionSummary(Caption caption, int videos, int colourOk, int shapeOk, int directionOk, int passed,
            long forwardSteps, long steps, double meanTravel, long missingFrames, long frames) {
        /** forwardSteps / steps. */
        public double smoothness() {
            return steps == 0 ? 0 : forwardSteps / (double) steps;
        }
    }

    /** Requires at least one row and copies the list. */
    public EvaluationReport {
        rows = List.copyOf(rows);
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("an evaluation report needs at least one row, got 0");
        }
    }

    /** Fraction of videos whose colour is right. */
    public double colourFraction() {
        return rows.stream().filter(r -> r.score().colourOk()).count() / (double) rows.size();
    }

    /** Fraction of videos whose direction is right with travel >= {@link WorldEvaluator#MIN_TRAVEL}. */
    public double directionFraction() {
        return rows.stream().filter(r -> r.score().directionOk()).count() / (double) rows.size();
    }

    /** Fraction of videos whose shape is right. */
    public double shapeFraction() {
        return rows.stream().filter(r -> r.score().shapeOk()).count() / (double) rows.size();
    }

    /** Fraction of all frame-to-frame steps, over every video, that go the requested way. */
    public double smoothness() {
        long fwd = 0;
        long all = 0;
        for (Row r : rows) {
            fwd += r.score().forwardSteps();
            all += r.score().steps();
        }
        return fwd / (double) all;
    }

    /** Fraction of all frames in which no shape was found. */
    public double missingFrameFraction() {
        long miss = 0;
        long all = 0;
        for (Row r : rows) {
            miss += r.score().missingFrames();
            all += r.score().frameCount();
        }
        return miss / (double) all;
    }

    /** Fraction of videos that pass every check. */
    public double passedFraction() {
        return rows.stream().filter(r -> r.score().passed()).count() / (double) rows.size();
    }

    /** True when all four acceptance fractions reach their targets. */
    public boolean accepted() {
        return colourFraction() >= COLOUR_TARGET && directionFraction() >= DIRECTION_TARGET
                && shapeFraction() >= SHAPE_TARGET && smoothness() >= SMOOTHNESS_TARGET;
    }

    /** Per-caption sums, in {@link Caption#all()} order, for the captions that have rows. */
    public List<CaptionSummary> perCaption() {
        Map<Caption, List<Row>> by = new LinkedHashMap<>();
        for (Caption c : Caption.all()) {
            by.put(c, new ArrayList<>());
        }
        for (Row r : rows) {
            by.get(r.caption()).add(r);
        }
        List<CaptionSummary> out = new ArrayList<>();
        for (Map.Entry<Caption, List<Row>> e : by.entrySet()) {
            List<Row> rs = e.getValue();
            if (rs.isEmpty()) {
                continue;
            }
            int colour = 0;
            int shape = 0;
            int dir = 0;
            int passed = 0;
            long fwd = 0;
            long steps = 0;
            double travel = 0;
            long miss = 0;
            long frames = 0;
            for (Row r : rs) {
                VideoScore s = r.score();
                colour += s.colourOk() ? 1 : 0;
                shape += s.shapeOk() ? 1 : 0;
                dir += s.directionOk() ? 1 : 0;
                passed += s.passed() ? 1 : 0;
                fwd += s.forwardSteps();
                steps += s.steps();
                travel += s.travel();
                miss += s.missingFrames();
                frames += s.frameCount();
            }
            out.add(new CaptionSummary(e.getKey(), rs.size(), colour, shape, dir, passed, fwd, steps,
                    travel / rs.size(), miss, frames));
        }
        return out;
    }

    /** Writes the summary and the per-caption table as Markdown (UTF-8), atomically. */
    public void writeMarkdown(Path path) {
        AtomicFiles.write(path, os -> {
            PrintWriter w = new PrintWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8));
            w.println("# Demo world evaluation");
            w.println();
            w.printf(Locale.ROOT, "%d videos, %s.%n", rows.size(), accepted() ? "ACCEPTED" : "NOT ACCEPTED");
            w.println();
            w.println("| criterion | measured | target | |");
            w.println("|---|---|---|---|");
            criterion(w, "colour", colourFraction(), COLOUR_TARGET);
            criterion(w, String.format(Locale.ROOT, "direction (travel >= %.2f)", WorldEvaluator.MIN_TRAVEL),
                    directionFraction(), DIRECTION_TARGET);
            criterion(w, "shape", shapeFraction(), SHAPE_TARGET);
            criterion(w, "smoothness (all steps)", smoothness(), SMOOTHNESS_TARGET);
            w.println();
            w.printf(Locale.ROOT, "Videos passing every check: %.1f%%. Frames without a shape: %.1f%%.%n",
                    100 * passedFraction(), 100 * missingFrameFraction());
            w.println();
            w.println("| caption | name | videos | colour | shape | direction | smoothness | mean travel | "
                    + "frames without shape | passed |");
            w.println("|---|---|---|---|---|---|---|---|---|---|");
            for (CaptionSummary s : perCaption()) {
                w.printf(Locale.ROOT, "| %s | %s | %d | %d | %d | %d | %.2f | %.3f | %d/%d | %d |%n",
                        s.caption().text(), s.caption().asciiName(), s.videos(), s.colourOk(), s.shapeOk(),
                        s.directionOk(), s.smoothness(), s.meanTravel(), s.missingFrames(), s.frames(), s.passed());
            }
            w.flush();
        });
    }

    /** Writes one line per video as CSV (UTF-8, header line first), atomically. */
    public void writeCsv(Path path) {
        AtomicFiles.write(path, os -> {
            PrintWriter w = new PrintWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8));
            w.println("caption,name,seed,frames,missing_frames,colour,colour_ok,shape,mean_fill,shape_ok,direction,"
                    + "travel,travel_along_caption,direction_ok,forward_steps,steps,smoothness,passed");
            for (Row r : rows) {
                VideoScore s = r.score();
                w.printf(Locale.ROOT, "%s,%s,%d,%d,%d,%s,%b,%s,%.4f,%b,%s,%.4f,%.4f,%b,%d,%d,%.4f,%b%n",
                        r.caption().text(), r.caption().asciiName(), r.seed(), s.frameCount(), s.missingFrames(),
                        s.colour() == null ? "" : s.colour().english(), s.colourOk(),
                        s.shape() == null ? "" : s.shape().english(), s.meanFill(), s.shapeOk(),
                        s.direction() == null ? "" : s.direction().english(), s.travel(), s.travelAlongCaption(),
                        s.directionOk(), s.forwardSteps(), s.steps(), s.smoothness(), s.passed());
            }
            w.flush();
        });
    }

    private static void criterion(PrintWriter w, String name, double value, double target) {
        w.printf(Locale.ROOT, "| %s | %.1f%% | >= %.0f%% | %s |%n", name, 100 * value, 100 * target,
                value >= target ? "ok" : "FAIL");
    }
}
