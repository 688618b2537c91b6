package io.cogvideo.examples.demo.recipe;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.DType;
import io.cogvideo.training.TrainingListener;
import io.cogvideo.training.TrainingProgress;
import io.cogvideo.training.TrainingSample;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Runs the recipe on the {@link ToyWorld} (not a unit test): {@code RecipeBench OUT LAYERS HIDDEN HEADS IMG_STEPS
 * S1_STEPS S2_STEPS [PHASES]} with the CPU backend, 2 threads, float32 weights; prints every step's loss and time.
 */
public final class RecipeBench {
    private RecipeBench() {
    }

    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        int layers = Integer.parseInt(args[1]);
        int hidden = Integer.parseInt(args[2]);
        int heads = Integer.parseInt(args[3]);
        long img = Long.parseLong(args[4]);
        long s1 = Long.parseLong(args[5]);
        long s2 = Long.parseLong(args[6]);
        String phases = args.length > 7 ? args[7] : "i12";
        ToyWorld.CharEncoder enc = new ToyWorld.CharEncoder();
        RecipeConfig d = RecipeConfig.defaults(enc.size(), enc.pad, enc.startOfImage).withSize(layers, hidden, heads);
        RecipeConfig c = d.withPhases(d.image().withSteps(img), d.stage1().withSteps(s1), d.stage2().withSteps(s2));
        List<TrainingSample> videos = ToyWorld.videos(2, 7);
        try (Backend backend = Backends.create("cpu", new BackendOptions(2, DType.FLOAT32))) {
            DemoRecipe recipe = new DemoRecipe(c, enc, backend);
            if (phases.contains("i")) {
                if (!java.nio.file.Files.exists(out.resolve("init"))) {
                    recipe.initImageModel(out.resolve("init"));
                }
                report("image", recipe.imageModel(videos, out.resolve("init"), out.resolve("run-image"),
                        out.resolve("image-model"), listener("image")));
            }
            if (phases.contains("1")) {
                report("stage1", recipe.stage1(videos, out.resolve("image-model"), out.resolve("run-stage1"),
                        out.resolve("stage1"), listener("stage1")));
            }
            if (phases.contains("2")) {
                report("stage2", recipe.stage2(videos, out.resolve("image-model"), out.resolve("run-stage2"),
                        out.resolve("stage2"), listener("stage2")));
            }
        }
    }

    private static void report(String name, DemoRecipe.PhaseResult r) {
        System.out.printf(Locale.ROOT, "%s done: %d steps in %.1f s, held-out %.4f -> %s%n", name, r.steps(),
                r.elapsed().toMillis() / 1e3, r.heldOutLoss(), r.exportDir());
    }

    private static TrainingListener listener(String name) {
        long t0 = System.nanoTime();
        return new TrainingListener() {
            @Override
            public void onStep(TrainingProgress p) {
                System.out.printf(Locale.ROOT, "%s step %d/%d loss %.4f lr %.2e %.2f s/step ETA %ds eval %.4f%n", name,
                        p.step(), p.totalSteps(), p.loss(), p.lr(), (System.nanoTime() - t0) / 1e9 / p.step(),
                        p.eta().toSeconds(), p.lastEvalLoss());
            }
        };
    }
}
