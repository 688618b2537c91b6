package io.cogvideo.examples.demo.recipe;

import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Generates toy-world videos with the real pipeline from the recipe's stage folders (not a unit test):
 * {@code ToyGenerate OUT_DIR SEEDS [PROMPT...]} where OUT_DIR holds {@code stage1/} and {@code stage2/}. Tokens only
 * (no image decoder), 8 fps, guidance on; prints, per video, the blob's colour and shape as its tokens say and the
 * path of its centre over the 33 frames.
 */
public final class ToyGenerate {
    private ToyGenerate() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int seeds = Integer.parseInt(args[1]);
        String[] prompts = args.length > 2 ? java.util.Arrays.copyOfRange(args, 2, args.length)
                : new String[] {"红色圆形向右移动", "蓝色正方形向左移动", "绿色三角形向下移动", "黄色圆形向上移动"};
        ToyWorld.CharEncoder enc = new ToyWorld.CharEncoder();
        try (VideoGenerator gen = VideoGenerator.builder().modelDir(dir.resolve("stage1"))
                .stage2ModelDir(dir.resolve("stage2")).promptEncoder(enc).backend("cpu").threads(2).build()) {
            for (String p : prompts) {
                for (int s = 0; s < seeds; s++) {
                    long t0 = System.nanoTime();
                    Video v = gen.generate(io.cogvideo.GenerationRequest.builder().prompt(p).frameRate(8).seed(s).build());
                    describe(p, s, v, (System.nanoTime() - t0) / 1e9);
                }
            }
        }
    }

    static void describe(String prompt, int seed, Video v, double secs) {
        int[] colours = new int[4];
        int[] shapes = new int[3];
        StringBuilder path = new StringBuilder();
        for (int f = 0; f < v.frameCount(); f++) {
            int[] tok = v.frameTokens(0, f);
            for (int t : tok) {
                if (ToyWorld.colourOf(t) >= 0) {
                    colours[ToyWorld.colourOf(t)]++;
                    shapes[ToyWorld.shapeOf(t)]++;
                }
            }
            if (f % 4 == 0) {
                double[] c = ToyWorld.centre(tok);
                path.append(c == null ? " (none)" : String.format(Locale.ROOT, " (%.1f,%.1f|%d)", c[0], c[1],
                        (int) c[2]));
            }
        }
        System.out.printf(Locale.ROOT, "%s seed %d (%.0f s, %d frames): colours %s shapes %s path%s%n", prompt, seed,
                secs, v.frameCount(), java.util.Arrays.toString(colours), java.util.Arrays.toString(shapes), path);
        for (int f : new int[] {0, 16, 32}) {
            System.out.println("  frame " + f + ":");
            int[] tok = v.frameTokens(0, f);
            for (int r = 0; r < ToyWorld.GRID; r++) {
                StringBuilder line = new StringBuilder("    ");
                for (int c = 0; c < ToyWorld.GRID; c++) {
                    int t = tok[r * ToyWorld.GRID + c];
                    line.append(t == 0 ? '.' : ToyWorld.colourOf(t) < 0 ? '?' : "RGBY".charAt(ToyWorld.colourOf(t)));
                }
                System.out.println(line);
            }
        }
    }
}
