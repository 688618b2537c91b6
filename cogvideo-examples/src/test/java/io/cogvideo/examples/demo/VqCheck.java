package io.cogvideo.examples.demo;

import io.cogvideo.checkpoint.SafetensorsReader;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.examples.demo.world.WorldRenderer;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.DType;
import io.cogvideo.training.vq.VqArchitecture;
import io.cogvideo.training.vq.VqVaeModel;
import io.cogvideo.training.vq.VqVaeTrainer;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

/** Not a test: {@code VqCheck CHECKPOINT OUT.png} reconstructs 8 world frames with a VQ-VAE training checkpoint. */
public final class VqCheck {
    private VqCheck() {
    }

    /** World frames of 8 different colours and shapes. */
    static final class Spread implements io.cogvideo.training.vq.VqTrainingImages {
        private final WorldImages w = new WorldImages(96, 1 << 20, 5);

        public int size() {
            return 8;
        }

        public int height() {
            return 96;
        }

        public int width() {
            return 96;
        }

        public float[] image(int index, long seed) {
            return w.image(index * 7, seed);
        }
    }

    public static void main(String[] args) throws Exception {
        try (Backend be = Backends.create("cpu", new BackendOptions(1, DType.FLOAT32));
                StateDict sd = SafetensorsReader.read(Path.of(args[0]))) {
            VqVaeModel m = VqVaeModel.fromStateDict(VqArchitecture.demo(), sd);
            int n = 8;
            VqVaeTrainer.Evaluation e = VqVaeTrainer.evaluate(be, m, new Spread(), n, 3L);
            System.out.printf("mse %.5f psnr %.2f%n", e.mse(), e.psnr());
            int plane = 3 * 96 * 96;
            BufferedImage sheet = new BufferedImage(96 * n, 192, BufferedImage.TYPE_INT_RGB);
            for (int i = 0; i < n; i++) {
                sheet.getGraphics().drawImage(WorldRenderer.toImage(
                        Arrays.copyOfRange(e.originals(), i * plane, (i + 1) * plane), 96, 96), 96 * i, 0, null);
                float[] r = Arrays.copyOfRange(e.reconstructions(), i * plane, (i + 1) * plane);
                for (int k = 0; k < r.length; k++) {
                    r[k] = Math.max(0f, Math.min(1f, r[k]));
                }
                sheet.getGraphics().drawImage(WorldRenderer.toImage(r, 96, 96), 96 * i, 96, null);
            }
            ImageIO.write(sheet, "png", Path.of(args[1]).toFile());
        }
    }
}
