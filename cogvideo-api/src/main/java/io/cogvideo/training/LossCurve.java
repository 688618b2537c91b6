package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The loss history of a run, written as {@code loss.csv} (exact decimal doubles: reading it back gives the same
 * values, which resume relies on) and a small {@code loss.png} plot (java.awt, headless). Immutable.
 *
 * @param points one entry per update, in step order
 */
public record LossCurve(List<Point> points) {
    /** CSV header. */
    public static final String HEADER = "step,loss,lr,grad_norm,eval_loss";

    /**
     * One update.
     *
     * @param step     1-based update
     * @param loss     training batch loss
     * @param lr       learning rate used
     * @param gradNorm gradient norm before clipping
     * @param evalLoss held-out loss evaluated after this update, NaN when none
     */
    public record Point(long step, double loss, double lr, double gradNorm, double evalLoss) {
    }

    public LossCurve {
        points = List.copyOf(points);
    }

    /** An empty curve. */
    public static LossCurve empty() {
        return new LossCurve(List.of());
    }

    /** This curve plus {@code p}. */
    public LossCurve plus(Point p) {
        List<Point> l = new ArrayList<>(points);
        l.add(p);
        return new LossCurve(l);
    }

    /** The points up to and including {@code step}. */
    public LossCurve upTo(long step) {
        return new LossCurve(points.stream().filter(p -> p.step() <= step).toList());
    }

    /** The CSV text. */
    public String toCsv() {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (Point p : points) {
            sb.append(p.step()).append(',').append(p.loss()).append(',').append(p.lr()).append(',')
                    .append(p.gradNorm()).append(',').append(Double.isNaN(p.evalLoss()) ? "" : p.evalLoss())
                    .append('\n');
        }
        return sb.toString();
    }

    /** Parses {@link #toCsv()} output. */
    public static LossCurve parseCsv(String csv, String source) {
        List<Point> out = new ArrayList<>();
        String[] lines = csv.split("\n");
        if (lines.length == 0 || !lines[0].trim().equals(HEADER)) {
            throw new CogVideoException(source + ": not a loss curve (first line must be '" + HEADER + "')");
        }
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i].trim();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(",", -1);
            if (f.length != 5) {
                throw new CogVideoException(source + ": line " + (i + 1) + " has " + f.length + " fields, expected 5");
            }
            try {
                out.add(new Point(Long.parseLong(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                        Double.parseDouble(f[3]), f[4].isEmpty() ? Double.NaN : Double.parseDouble(f[4])));
            } catch (NumberFormatException e) {
                throw new CogVideoException(source + ": line " + (i + 1) + " is not numeric: " + line);
            }
        }
        return new LossCurve(out);
    }

    /** Reads a {@code loss.csv}. */
    public static LossCurve readCsv(Path file) {
        try {
            return parseCsv(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new CogVideoException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code loss.csv} and {@code loss.png} into {@code dir}, each atomically. */
    public void write(Path dir) {
        SafetensorsWriter.writeAtomically(dir.resolve("loss.csv"), toCsv().getBytes(StandardCharsets.UTF_8));
        SafetensorsWriter.writeAtomically(dir.resolve("loss.png"), png(640, 360));
    }

    /** A PNG plot: training loss (blue line), held-out loss (orange dots), step on x, loss on y. */
    public byte[] png(int width, int height) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            int left = 70;
            int right = width - 20;
            int top = 30;
            int bottom = height - 40;
            g.setColor(Color.GRAY);
            g.drawRect(left, top, right - left, bottom - top);
            List<Double> values = new ArrayList<>();
            for (Point p : points) {
                if (Double.isFinite(p.loss())) {
                    values.add(p.loss());
                }
                if (Double.isFinite(p.evalLoss())) {
                    values.add(p.evalLoss());
                }
            }
            String title = "loss over " + points.size() + " updates";
            if (!values.isEmpty()) {
                double lo = Collections.min(values);
                double hi = Collections.max(values);
                if (hi - lo < 1e-12) {
                    hi = lo + 1;
                }
                long s0 = points.get(0).step();
                long s1 = Math.max(s0 + 1, points.get(points.size() - 1).step());
                double fl = lo;
                double fh = hi;
                java.util.function.DoubleUnaryOperator y = v -> bottom - (v - fl) / (fh - fl) * (bottom - top);
                java.util.function.LongToDoubleFunction x = s -> left + (double) (s - s0) / (s1 - s0) * (right - left);
                g.setColor(new Color(31, 119, 180));
                g.setStroke(new BasicStroke(1.5f));
                Point prev = null;
                for (Point p : points) {
                    if (!Double.isFinite(p.loss())) {
                        prev = null;
                        continue;
                    }
                    if (prev != null) {
                        g.drawLine((int) x.applyAsDouble(prev.step()), (int) y.applyAsDouble(prev.loss()),
                                (int) x.applyAsDouble(p.step()), (int) y.applyAsDouble(p.loss()));
                    }
                    prev = p;
                }
                g.setColor(new Color(255, 127, 14));
                for (Point p : points) {
                    if (Double.isFinite(p.evalLoss())) {
                        g.fillOval((int) x.applyAsDouble(p.step()) - 3, (int) y.applyAsDouble(p.evalLoss()) - 3, 7, 7);
                    }
                }
                labels(g, String.format(Locale.ROOT, "%.4g", hi), String.format(Locale.ROOT, "%.4g", lo),
                        Long.toString(s0), Long.toString(s1), title, left, right, top, bottom);
            } else {
                labels(g, "", "", "", "", title, left, right, top, bottom);
            }
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new CogVideoException("cannot encode the loss plot: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    private static void labels(Graphics2D g, String hi, String lo, String s0, String s1, String title, int left,
            int right, int top, int bottom) {
        try {
            g.setColor(Color.DARK_GRAY);
            g.drawString(hi, 5, top + 5);
            g.drawString(lo, 5, bottom);
            g.drawString(s0, left, bottom + 18);
            g.drawString(s1, right - 8 * s1.length(), bottom + 18);
            g.drawString(title + " (blue: training, orange: held-out)", left, top - 10);
        } catch (RuntimeException | LinkageError | InternalError e) {
            // no usable fonts on this machine: the plot stays without labels (the CSV has the numbers)
        }
    }
}
