package io.cogvideo.examples;

import io.cogvideo.GenerationListener;
import io.cogvideo.GenerationProgress;
import io.cogvideo.GenerationStage;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress on the console: a bar redrawn in place with step counts and ETA on a terminal, plain log lines (every
 * 10% of a stage) when the output is redirected.
 */
final class ConsoleProgress implements GenerationListener {
    private final PrintStream out;
    private final boolean terminal;
    private GenerationStage stage;
    private int lastDecile = -1;
    private long lastDraw;

    ConsoleProgress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public void onProgress(GenerationProgress p) {
        if (p.stage() != stage) {
            if (stage != null && terminal) {
                out.println();
            }
            stage = p.stage();
            lastDecile = -1;
        }
        double secs = p.elapsed().toNanos() / 1e9;
        double eta = p.step() == 0 ? 0 : secs / p.step() * (p.total() - p.step());
        if (terminal) {
            long now = System.nanoTime();
            if (now - lastDraw < 100_000_000L && p.step() != p.total()) {
                return;
            }
            lastDraw = now;
            int width = 30;
            int filled = (int) Math.round(p.fraction() * width);
            out.print(String.format(Locale.ROOT, "\r%-16s [%s%s] %d/%d  %.1f tok/s  ETA %s", label(p.stage()),
                    "#".repeat(filled), " ".repeat(width - filled), p.step(), p.total(),
                    secs > 0 ? p.step() / secs : 0.0, clock(eta)));
            if (p.step() == p.total()) {
                out.println();
                stage = null;
            }
            out.flush();
        } else {
            int decile = (int) (p.fraction() * 10);
            if (decile != lastDecile) {
                lastDecile = decile;
                out.println(String.format(Locale.ROOT, "%s: %d/%d (%d%%), elapsed %s, ETA %s", label(p.stage()),
                        p.step(), p.total(), decile * 10, clock(secs), clock(eta)));
            }
        }
    }

    static String label(GenerationStage s) {
        return switch (s) {
            case FIRST_FRAME -> "first frame";
            case KEY_FRAMES -> "key frames";
            case INTERPOLATION_1 -> "interpolation 1";
            case INTERPOLATION_2 -> "interpolation 2";
            case INTERPOLATION_3 -> "interpolation 3";
            case SUPER_RESOLUTION -> "super-resolution";
            case DECODING -> "decoding";
        };
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
