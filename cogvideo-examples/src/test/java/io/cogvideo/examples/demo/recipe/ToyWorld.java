package io.cogvideo.examples.demo.recipe;

import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.training.TrainingSample;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A token world standing in for the VQ-VAE-encoded demo world, to size and check the recipe without the image
 * tokenizer: 12 x 12 token grids, background token 0, a 3 x 3-cell blob (a quarter of the width) whose tokens encode
 * colour, shape and the cell inside the blob, moving 1.5 cells per second (half the width over 4 s) in the caption's
 * direction; 33 frames at 8 fps. Token of blob cell {@code c} (0..8, row-major) of colour {@code k} and shape {@code s}:
 * {@code 1 + 27·k + 9·s + c}, for the cells the shape covers (circle: not the corners; square: all; triangle: the
 * top-middle cell, the middle row's centre and left/right, the bottom row). Also a char-level {@link PromptEncoder}.
 */
final class ToyWorld {
    static final String[] COLOURS = {"红色", "绿色", "蓝色", "黄色"};
    static final String[] SHAPES = {"圆形", "正方形", "三角形"};
    static final String[] DIRECTIONS = {"向左移动", "向右移动", "向上移动", "向下移动"};
    static final int GRID = 12;
    static final int FRAMES = 33;
    static final double FPS = 8;
    /** Cells of the 3 x 3 blob that each shape covers. */
    static final boolean[][] COVER = {
        {false, true, false, true, true, true, false, true, false}, // circle
        {true, true, true, true, true, true, true, true, true}, // square
        {false, true, false, true, true, true, true, true, true}, // triangle
    };

    private ToyWorld() {
    }

    /** Token of blob cell {@code c} of colour {@code k} and shape {@code s}. */
    static int token(int k, int s, int c) {
        return 1 + 27 * k + 9 * s + c;
    }

    /** The colour index a token belongs to, or -1 for the background. */
    static int colourOf(int token) {
        return token >= 1 && token <= 108 ? (token - 1) / 27 : -1;
    }

    /** The shape index a token belongs to, or -1 for the background. */
    static int shapeOf(int token) {
        return token >= 1 && token <= 108 ? ((token - 1) % 27) / 9 : -1;
    }

    /** One frame: the blob's top-left cell at {@code (x, y)} rounded. */
    static int[] frame(int k, int s, double x, double y) {
        int[] f = new int[GRID * GRID];
        int cx = (int) Math.round(x);
        int cy = (int) Math.round(y);
        for (int c = 0; c < 9; c++) {
            if (!COVER[s][c]) {
                continue;
            }
            int r = cy + c / 3;
            int q = cx + c % 3;
            if (r >= 0 && r < GRID && q >= 0 && q < GRID) {
                f[r * GRID + q] = token(k, s, c);
            }
        }
        return f;
    }

    /** {@code perPrompt} videos of each of the 48 prompts, seeded. */
    static List<TrainingSample> videos(int perPrompt, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<TrainingSample> out = new ArrayList<>();
        for (int v = 0; v < perPrompt; v++) {
            for (int k = 0; k < COLOURS.length; k++) {
                for (int s = 0; s < SHAPES.length; s++) {
                    for (int d = 0; d < DIRECTIONS.length; d++) {
                        out.add(video(k, s, d, r));
                    }
                }
            }
        }
        return out;
    }

    /** One video: travel of 6 cells over 4 s, the path inside the grid, a random offset across the motion. */
    static TrainingSample video(int k, int s, int d, SplittableRandom r) {
        double travel = GRID / 2.0;
        double along0 = r.nextDouble() * (GRID - 3 - travel); // top-left coordinate along the motion at the start
        double across = r.nextDouble() * (GRID - 3);
        List<int[]> frames = new ArrayList<>();
        for (int i = 0; i < FRAMES; i++) {
            double p = along0 + travel * i / (FRAMES - 1);
            double x;
            double y;
            switch (d) {
                case 0 -> { x = GRID - 3 - p; y = across; } // left
                case 1 -> { x = p; y = across; } // right
                case 2 -> { x = across; y = GRID - 3 - p; } // up
                default -> { x = across; y = p; } // down
            }
            frames.add(frame(k, s, x, y));
        }
        return TrainingSample.ofTokens(COLOURS[k] + SHAPES[s] + DIRECTIONS[d], FPS, frames);
    }

    /** Centre of mass (x, y) of the non-background cells of a frame, or null when empty. */
    static double[] centre(int[] f) {
        double sx = 0;
        double sy = 0;
        int n = 0;
        for (int i = 0; i < f.length; i++) {
            if (f[i] != 0) {
                sx += i % GRID;
                sy += i / GRID;
                n++;
            }
        }
        return n == 0 ? null : new double[] {sx / n, sy / n, n};
    }

    /** A character-level prompt encoder: ids 512 + index in the alphabet; specials after it. */
    static final class CharEncoder implements PromptEncoder {
        private final Map<Character, Integer> ids = new LinkedHashMap<>();
        final int newline;
        final int pad;
        final int startOfImage;

        CharEncoder() {
            StringBuilder a = new StringBuilder("一个高清摄影视频秒0123456789. ");
            for (String[] g : new String[][] {COLOURS, SHAPES, DIRECTIONS}) {
                for (String w : g) {
                    a.append(w);
                }
            }
            for (char c : a.toString().toCharArray()) {
                ids.putIfAbsent(c, 512 + ids.size());
            }
            newline = 512 + ids.size();
            pad = newline + 1;
            startOfImage = newline + 2;
        }

        /** Pieces plus the three specials. */
        int size() {
            return ids.size() + 3;
        }

        @Override
        public int[] encode(String text) {
            int[] out = new int[text.length()];
            for (int i = 0; i < out.length; i++) {
                Integer id = ids.get(text.charAt(i));
                if (id == null) {
                    throw new IllegalArgumentException("no piece for '" + text.charAt(i) + "'");
                }
                out[i] = id;
            }
            return out;
        }

        @Override
        public int startOfImage() {
            return startOfImage;
        }

        @Override
        public int newline() {
            return newline;
        }
    }
}
