package io.cogvideo.tokenizer.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The tokenizer's picture preprocessing: torchvision's {@code Resize(size)} output sizes and {@code CenterCrop}
 * offsets, the bilinear (anti-aliased) filter against PIL, and the pixel (de)normalisation.
 *
 * <p>{@code resize_pil_{down,up}.png} were made from {@code resize_src.png} (37x23 RGB) with PIL 9.4.0:
 * {@code src.resize((w, h), Image.BILINEAR)} at the sizes torchvision's {@code Resize(16)} and {@code Resize(50)}
 * compute (25x16 and 80x50).
 */
class VqVaePreprocessingTest {

    private static BufferedImage png(String name) throws IOException {
        try (InputStream in = VqVaePreprocessingTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return ImageIO.read(in);
        }
    }

    private static int[][] resize(int[][] planes, int w, int h, int size, int[] wh) {
        return ImagePreprocessing.resizeShorterSide(planes, w, h, size, wh);
    }

    @Test
    void resizeKeepsAspectRatioLikeTorchvision() {
        int[] wh = new int[2];
        resize(new int[3][300 * 200], 300, 200, 100, wh);
        assertThat(wh).containsExactly(150, 100);
        resize(new int[3][200 * 301], 200, 301, 100, wh);
        assertThat(wh).containsExactly(100, 150); // int(100 * 301 / 200) truncates 150.5
        resize(new int[3][7 * 7], 7, 7, 3, wh);
        assertThat(wh).containsExactly(3, 3);
    }

    @Test
    void resizeToTheSameSizeIsTheIdentity() {
        int[][] planes = new int[3][20 * 10];
        int[] wh = new int[2];
        assertThat(resize(planes, 20, 10, 10, wh)).isSameAs(planes);
        assertThat(wh).containsExactly(20, 10);
    }

    @Test
    void enlargingIsPlainBilinearWithHalfPixelCentres() {
        int[][] planes = {{0, 100}, {0, 100}, {0, 100}};
        int[] wh = new int[2];
        // 2x1 -> shorter side 2 -> 4x2; torch bilinear (align_corners=False) gives 0, 25, 75, 100 on every row
        int[][] out = resize(planes, 2, 1, 2, wh);
        assertThat(wh).containsExactly(4, 2);
        assertThat(out[0]).containsExactly(0, 25, 75, 100, 0, 25, 75, 100);
    }

    @Test
    void shrinkingWidensTheFilter() {
        // 4 -> 2: triangle of half-width 2 input pixels, taps renormalised at the border
        int[][] planes = new int[3][];
        planes[0] = new int[] {0, 40, 80, 120, 0, 40, 80, 120};
        planes[1] = planes[0].clone();
        planes[2] = planes[0].clone();
        int[] wh = new int[2];
        int[][] out = resize(planes, 4, 2, 1, wh);
        assertThat(wh).containsExactly(2, 1);
        // left: (0*.75 + 40*.75 + 80*.25) / 1.75 = 28.57; right: (40*.25 + 80*.75 + 120*.75) / 1.75 = 91.43
        assertThat(out[0]).containsExactly(29, 91);
    }

    @Test
    void filterMatchesPilBilinear() throws IOException {
        BufferedImage src = png("resize_src.png");
        int[][] planes = ImagePreprocessing.rgbPlanes(src);
        for (String[] c : new String[][] {{"resize_pil_down.png", "16"}, {"resize_pil_up.png", "50"}}) {
            BufferedImage ref = png(c[0]);
            int[] wh = new int[2];
            int[][] out = resize(planes, src.getWidth(), src.getHeight(), Integer.parseInt(c[1]), wh);
            assertThat(wh).containsExactly(ref.getWidth(), ref.getHeight());
            int[][] expected = ImagePreprocessing.rgbPlanes(ref);
            int worst = 0;
            for (int ch = 0; ch < 3; ch++) {
                for (int i = 0; i < expected[ch].length; i++) {
                    worst = Math.max(worst, Math.abs(out[ch][i] - expected[ch][i]));
                }
            }
            // PIL rounds to 8 bits after each pass and uses fixed-point weights: one level at most
            assertThat(worst).as(c[0] + ": max 8-bit difference from PIL").isLessThanOrEqualTo(1);
        }
    }

    @Test
    void centerCropRoundsHalfToEvenLikePython() {
        // w = 7, size = 4: left = round(1.5) = 2 (Python rounds half to even); h = 5, size 4: top = round(0.5) = 0
        int w = 7;
        int h = 5;
        int[][] planes = new int[3][w * h];
        for (int i = 0; i < w * h; i++) {
            planes[0][i] = i;
        }
        int[][] out = ImagePreprocessing.centerCrop(planes, w, h, 4);
        assertThat(out[0]).startsWith(2, 3, 4, 5, 9);
        // w = 9, size 4: left = round(2.5) = 2
        int[][] planes9 = new int[3][9 * 4];
        for (int i = 0; i < 9 * 4; i++) {
            planes9[0][i] = i;
        }
        assertThat(ImagePreprocessing.centerCrop(planes9, 9, 4, 4)[0]).startsWith(2, 3, 4, 5, 11);
    }

    @Test
    void grayscalePicturesAreReplicated() {
        BufferedImage g = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setSample(0, 0, 0, 17);
        g.getRaster().setSample(1, 0, 0, 200);
        int[][] p = ImagePreprocessing.rgbPlanes(g);
        for (int c = 0; c < 3; c++) {
            assertThat(p[c]).containsExactly(17, 200);
        }
    }

    @Test
    void normalisationRoundTrips() {
        float[] rgb = {0f, 0.5f, 1f, 0.25f, 0.75f, 0.1f};
        float[] n = ImagePreprocessing.normalize(rgb, 1, 2);
        assertThat(n[0]).isEqualTo((0f - VqVaeConfig.PIXEL_MEAN[0]) / VqVaeConfig.PIXEL_STD[0]);
        assertThat(n[5]).isEqualTo((0.1f - VqVaeConfig.PIXEL_MEAN[2]) / VqVaeConfig.PIXEL_STD[2]);
        ImagePreprocessing.denormalizeInPlace(n, 1, 2);
        for (int i = 0; i < rgb.length; i++) {
            assertThat((double) n[i]).isCloseTo(rgb[i], org.assertj.core.data.Offset.offset(1e-6));
        }
        int[][] planes = {{0, 255}, {51, 102}, {204, 153}};
        float[] n8 = ImagePreprocessing.normalize8(planes);
        assertThat(n8[1]).isEqualTo((1f - VqVaeConfig.PIXEL_MEAN[0]) / VqVaeConfig.PIXEL_STD[0]);
    }

    @Test
    void eightBitConversionClampsAndRounds() {
        assertThat(ImagePreprocessing.to8(-0.3f)).isZero();
        assertThat(ImagePreprocessing.to8(1.7f)).isEqualTo(255);
        assertThat(ImagePreprocessing.to8(0.5f)).isEqualTo(128); // floor(127.5 + 0.5)
        assertThat(ImagePreprocessing.to8(Float.NaN)).isZero();
        float[] px = {0f, 1f, 0.2f, 0.4f, 0.6f, 2f};
        BufferedImage img = ImagePreprocessing.toImage(px, 0, 1, 2);
        assertThat(img.getRGB(0, 0) & 0xffffff).isEqualTo((0 << 16) | (51 << 8) | 153);
        assertThat(img.getRGB(1, 0) & 0xffffff).isEqualTo((255 << 16) | (102 << 8) | 255);
    }
}
