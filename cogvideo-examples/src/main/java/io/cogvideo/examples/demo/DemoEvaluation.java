package io.cogvideo.examples.demo;

import io.cogvideo.GenerationRequest;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import io.cogvideo.examples.demo.world.Caption;
import io.cogvideo.examples.demo.world.ContactSheet;
import io.cogvideo.examples.demo.world.EvaluationReport;
import io.cogvideo.examples.demo.world.VideoScore;
import io.cogvideo.examples.demo.world.WorldEvaluator;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Generates videos of the world's prompts with a generator and scores each against its prompt with
 * {@link WorldEvaluator}: at frame rate 8 (33 frames) for the acceptance figures, and optionally at frame rate 1
 * (5 frames) with the same seed for the frame-rate check (both videos should travel the same distance).
 */
public final class DemoEvaluation {
    /** Frame rate of the acceptance runs. */
    public static final int FRAME_RATE = 8;
    /** Largest relative travel difference between the rate-1 and rate-8 videos of one prompt and seed. */
    public static final double MAX_TRAVEL_DIFFERENCE = 0.30;

    /**
     * One frame-rate comparison.
     *
     * @param relativeDifference {@link WorldEvaluator#compareTravel} of the two videos
     */
    public record RateCheck(Caption caption, long seed, double travelRate1, double travelRate8,
            double relativeDifference) {
        /** Whether the two travels agree within {@link #MAX_TRAVEL_DIFFERENCE}. */
        public boolean ok() {
            return relativeDifference <= MAX_TRAVEL_DIFFERENCE;
        }
    }

    /**
     * What an evaluation found.
     *
     * @param report  the scores of the rate-8 videos
     * @param rates   the frame-rate comparisons (empty when not asked for)
     * @param sheet   contact-sheet rows (the first seed's videos of every third caption, at most 16)
     * @param seconds wall time of the whole evaluation
     */
    public record Result(EvaluationReport report, List<RateCheck> rates, List<ContactSheet.Entry> sheet,
            double seconds) {
        /** Fraction of frame-rate comparisons within {@link #MAX_TRAVEL_DIFFERENCE} (1 when there are none). */
        public double rateAgreement() {
            return rates.isEmpty() ? 1 : rates.stream().filter(RateCheck::ok).count() / (double) rates.size();
        }

        /** A few lines: the four acceptance fractions, the frame-rate agreement and the time. */
        public String summary() {
            EvaluationReport r = report;
            return String.format(Locale.ROOT, "%d videos: colour %.1f%%, direction %.1f%%, shape %.1f%%, "
                    + "smoothness %.1f%% of steps, passed %.1f%%; frame-rate travel agreement %.1f%% of %d pairs; "
                    + "%s; %.0f s", r.rows().size(), 100 * r.colourFraction(), 100 * r.directionFraction(),
                    100 * r.shapeFraction(), 100 * r.smoothness(), 100 * r.passedFraction(), 100 * rateAgreement(),
                    rates.size(), r.accepted() ? "ACCEPTED" : "not accepted", seconds);
        }

        /** Writes report.md, report.csv, frame-rate.csv and contact-sheet.png into {@code dir}. */
        public void write(Path dir) {
            try {
                Files.createDirectories(dir);
            } catch (java.io.IOException e) {
                throw new io.cogvideo.CogVideoException("cannot create " + dir + ": " + e.getMessage(), e);
            }
            report.writeMarkdown(dir.resolve("report.md"));
            report.writeCsv(dir.resolve("report.csv"));
            StringBuilder csv = new StringBuilder("caption,seed,travel_rate1,travel_rate8,relative_difference,ok\n");
            for (RateCheck c : rates) {
                csv.append(String.format(Locale.ROOT, "%s,%d,%.4f,%.4f,%.4f,%s%n", c.caption().asciiName(), c.seed(),
                        c.travelRate1(), c.travelRate8(), c.relativeDifference(), c.ok()));
            }
            DemoBuild.writeAtomically(dir.resolve("frame-rate.csv"), csv.toString().getBytes(StandardCharsets.UTF_8));
            DemoBuild.writeAtomically(dir.resolve("summary.txt"), (summary() + "\n").getBytes(StandardCharsets.UTF_8));
            if (!sheet.isEmpty()) {
                ContactSheet.write(dir.resolve("contact-sheet.png"), sheet, 9);
            }
        }
    }

    private DemoEvaluation() {
    }

    /**
     * Generates and scores {@code captions x seeds} videos.
     *
     * @param rateCheck also generate each at frame rate 1 and compare the travel
     * @param progress  receives a line per video (may be null)
     */
    public static Result run(VideoGenerator generator, List<Caption> captions, List<Long> seeds, boolean rateCheck,
            Consumer<String> progress) {
        return run(generator, captions, seeds, rateCheck, b -> b, progress);
    }

    /**
     * As {@link #run(VideoGenerator, List, List, boolean, Consumer)}, with the sampling settings of every request
     * adjusted by {@code sampling} (for example a temperature).
     */
    public static Result run(VideoGenerator generator, List<Caption> captions, List<Long> seeds, boolean rateCheck,
            java.util.function.UnaryOperator<GenerationRequest.Builder> sampling, Consumer<String> progress) {
        long t0 = System.nanoTime();
        WorldEvaluator evaluator = new WorldEvaluator();
        List<EvaluationReport.Row> rows = new ArrayList<>();
        List<RateCheck> rates = new ArrayList<>();
        List<ContactSheet.Entry> sheet = new ArrayList<>();
        int done = 0;
        for (long seed : seeds) {
            for (int ci = 0; ci < captions.size(); ci++) {
                Caption c = captions.get(ci);
                List<BufferedImage> frames = generate(generator, c, seed, FRAME_RATE, sampling);
                VideoScore score = evaluator.score(frames, c);
                rows.add(new EvaluationReport.Row(c, seed, score));
                if (seed == seeds.get(0) && ci % 3 == 0 && sheet.size() < 16) {
                    sheet.add(new ContactSheet.Entry(c.asciiName() + " (seed " + seed + ")", frames));
                }
                String rate = "";
                if (rateCheck) {
                    VideoScore s1 = evaluator.score(generate(generator, c, seed, 1, sampling), c);
                    RateCheck rc = new RateCheck(c, seed, s1.travel(), score.travel(),
                            WorldEvaluator.compareTravel(s1, score));
                    rates.add(rc);
                    rate = String.format(Locale.ROOT, "  travel at 1 fps %.3f (%s)", s1.travel(),
                            rc.ok() ? "agrees" : "differs");
                }
                done++;
                if (progress != null) {
                    progress.accept(String.format(Locale.ROOT, "[%d/%d] %s seed %d: %s%s", done,
                            captions.size() * seeds.size(), c.text(), seed, score.summary(), rate));
                }
            }
        }
        return new Result(new EvaluationReport(rows), rates, sheet, (System.nanoTime() - t0) / 1e9);
    }

    private static List<BufferedImage> generate(VideoGenerator generator, Caption c, long seed, int rate,
            java.util.function.UnaryOperator<GenerationRequest.Builder> sampling) {
        Video v = generator.generate(sampling.apply(GenerationRequest.builder().prompt(c.text()).frameRate(rate)
                .seed(seed).samples(1).superResolution(false)).build());
        return v.frames(0);
    }
}
