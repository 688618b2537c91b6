package io.cogvideo.backend.cpu;

import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.training.vq.ClusterTable;
import io.cogvideo.training.vq.ShapeImages;
import io.cogvideo.training.vq.VqArchitecture;
import io.cogvideo.training.vq.VqTrainerOptions;
import io.cogvideo.training.vq.VqVaeTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The demo VQ-VAE's real run on the CPU backend (not a unit test: skipped unless {@code -Dcogvideo.vqDemo=<dir>} names
 * an output folder). {@code -Dcogvideo.vqDemo.steps=N} and {@code -Dcogvideo.vqDemo.batch=B} override the recipe's step count and
 * batch (for timing, or a shorter run on a busy machine). Writes
 * {@code vq.safetensors}, {@code cluster_label2.npy}, {@code reconstructions.png} (originals above reconstructions)
 * and {@code log.txt} into the folder.
 */
class CpuVqDemoRun {

    @Test
    void trainTheDemoVqVae() throws Exception {
        String dir = System.getProperty("cogvideo.vqDemo");
        Assumptions.assumeTrue(dir != null && !dir.isBlank(), "set -Dcogvideo.vqDemo=<dir> to run the demo VQ-VAE");
        Path out = Path.of(dir);
        Files.createDirectories(out);
        VqTrainerOptions o = VqVaeTrainer.demoOptions();
        String steps = System.getProperty("cogvideo.vqDemo.steps");
        if (steps != null) {
            o = o.withSteps(Integer.parseInt(steps));
        }
        String batch = System.getProperty("cogvideo.vqDemo.batch");
        if (batch != null) {
            o = new VqTrainerOptions(o.steps(), Integer.parseInt(batch), o.crop(), o.lr(), o.warmupSteps(), o.beta(),
                    o.emaDecay(), o.restartEvery(), o.seed(), o.checkpointInterval());
        }
        int threads = Integer.getInteger("cogvideo.vqDemo.threads", 2);
        StringBuilder log = new StringBuilder();
        ShapeImages world = new ShapeImages(96);
        try (CheckedBackend backend = CheckedBackend.wrap(new CpuBackendProvider().create(
                new BackendOptions(threads, DType.FLOAT32)))) {
            VqArchitecture arch = VqArchitecture.demo();
            VqVaeTrainer t = VqVaeTrainer.start(backend, arch, world, o);
            long t0 = System.nanoTime();
            int every = Math.max(1, o.steps() / 40);
            t.train(p -> {
                if (p.step() % every == 0 || p.step() <= 3) {
                    String line = String.format(Locale.ROOT, "step %d loss %.4f rec %.4f used %d ppl %.1f %.2fs",
                            p.step(), p.loss(), p.reconstructionMse(), p.codesUsed(), p.perplexity(), p.seconds());
                    System.out.println(line);
                    log.append(line).append('\n');
                }
            }, out.resolve("checkpoints"));
            double secs = (System.nanoTime() - t0) / 1e9;
            VqVaeTrainer.Evaluation ev = VqVaeTrainer.evaluate(backend, t.model(), world, 24, 0xE7A1L);
            String summary = String.format(Locale.ROOT,
                    "options %s%narchitecture %s (%d parameters)%ntraining %.1f s (%.3f s/step, %d threads)%n"
                            + "held-out: %d images 96x96, MSE %.5f, PSNR %.2f dB%n",
                    o, arch, t.model().parameterCount(), secs, secs / o.steps(), threads, ev.images(), ev.mse(),
                    ev.psnr());
            System.out.print(summary);
            log.append(summary);
            VqVaeTrainer.writeIcetk(t.model(), out.resolve("vq.safetensors"));
            int[] labels = ClusterTable.kMeans(t.model().codebook(), arch.codebookSize(), arch.embeddingDim(), 32,
                    100, o.seed());
            ClusterTable.writeNpy(out.resolve("cluster_label2.npy"), labels);
            int n = 12;
            java.awt.image.BufferedImage top = ShapeImages.strip(java.util.Arrays.copyOf(ev.originals(),
                    n * 3 * 96 * 96), n, 96, 96);
            java.awt.image.BufferedImage bottom = ShapeImages.strip(java.util.Arrays.copyOf(ev.reconstructions(),
                    n * 3 * 96 * 96), n, 96, 96);
            java.awt.image.BufferedImage both = new java.awt.image.BufferedImage(n * 96, 192,
                    java.awt.image.BufferedImage.TYPE_INT_RGB);
            both.getGraphics().drawImage(top, 0, 0, null);
            both.getGraphics().drawImage(bottom, 0, 96, null);
            ImageIO.write(both, "png", out.resolve("reconstructions.png").toFile());
            Files.writeString(out.resolve("log.txt"), log);
        }
    }
}
