package io.cogvideo.examples.demo.world;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.imageio.ImageIO;

/**
 * A PNG grid of videos: one row per video, {@code columns} frames evenly spaced from the first to the last, each row
 * headed by an ASCII label (e.g. "red circle right"; ASCII because a Chinese font may be missing).
 */
public final class ContactSheet {
    /** Height of a row's label strip, in pixels. */
    public static final int LABEL_HEIGHT = 14;
    /** Gap between frames and rows, in pixels. */
    public static final int GAP = 2;

    /**
     * One row of the sheet.
     *
     * @param label an ASCII label (non-ASCII characters may render as boxes)
     * @param frames the video's frames, all of one size, at least 1
     */
    public record Entry(String label, List<BufferedImage> frames) {
        /** Validates and copies the frames. */
        public Entry {
            Objects.requireNonNull(label, "label");
            frames = List.copyOf(frames);
            if (frames.isEmpty()) {
                throw new IllegalArgumentException("entry '" + label + "' has no frames");
            }
        }

        /** A row from RGB planar [3, height, width] frames in [0, 1]. */
        public static Entry of(String label, float[][] frames, int width, int height) {
            List<BufferedImage> imgs = new ArrayList<>(frames.length);
            for (float[] f : frames) {
                imgs.add(WorldRenderer.toImage(f, width, height));
            }
            return new Entry(label, imgs);
        }
    }

    private ContactSheet() {
    }

    /** The frame indices shown for a video of {@code frameCount} frames: {@code columns} evenly spaced, first and last included. */
    public static int[] columnsFor(int frameCount, int columns) {
        int c = Math.min(columns, frameCount);
        int[] idx = new int[c];
        for (int k = 0; k < c; k++) {
            idx[k] = c == 1 ? 0 : (int) Math.round(k * (frameCount - 1) / (double) (c - 1));
        }
        return idx;
    }

    /**
     * Draws the sheet.
     *
     * @param rows at least one row
     * @param columns frames per row, 1..64
     */
    public static BufferedImage render(List<Entry> rows, int columns) {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("a contact sheet needs at least one row, got 0");
        }
        if (columns < 1 || columns > 64) {
            throw new IllegalArgumentException("columns " + columns + " out of range [1, 64]");
        }
        int fw = 0;
        int fh = 0;
        for (Entry e : rows) {
            fw = Math.max(fw, e.frames().get(0).getWidth());
            fh = Math.max(fh, e.frames().get(0).getHeight());
        }
        int width = GAP + columns * (fw + GAP);
        int rowHeight = LABEL_HEIGHT + fh + GAP;
        int height = GAP + rows.size() * rowHeight;
        BufferedImage sheet = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(new Color(0x808080));
            g.fillRect(0, 0, width, height);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int r = 0; r < rows.size(); r++) {
                Entry e = rows.get(r);
                int y = GAP + r * rowHeight;
                g.setColor(Color.BLACK);
                g.drawString(e.label(), GAP + 1, y + LABEL_HEIGHT - 3);
                int[] idx = columnsFor(e.frames().size(), columns);
                for (int c = 0; c < idx.length; c++) {
                    g.drawImage(e.frames().get(idx[c]), GAP + c * (fw + GAP), y + LABEL_HEIGHT, null);
                }
            }
        } finally {
            g.dispose();
        }
        return sheet;
    }

    /** Draws the sheet and writes it as PNG, atomically (temporary file, then rename). */
    public static void write(Path png, List<Entry> rows, int columns) {
        BufferedImage sheet = render(rows, columns);
        AtomicFiles.write(png, os -> {
            if (!ImageIO.write(sheet, "png", os)) {
                throw new IOException("no PNG writer available");
            }
        });
    }
}
