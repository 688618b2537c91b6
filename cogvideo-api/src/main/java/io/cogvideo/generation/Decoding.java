package io.cogvideo.generation;

import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.GenerationStage;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/** The last stage: every frame's token grid to pixels with the image decoder, one frame at a time. Immutable. */
final class Decoding {
    private final ImageDecoder decoder;

    Decoding(ImageDecoder decoder) {
        this.decoder = decoder;
    }

    /**
     * Decodes the request's final frames; a cancellation from here on carries their tokens.
     *
     * @param frames [samples][frames][tokens]
     * @return [samples][frames] pictures
     */
    List<List<BufferedImage>> run(RequestRun run, int[][][] frames, int fps) {
        run.begin(GenerationStage.DECODING, frames.length * frames[0].length);
        run.partial(frames, fps);
        List<List<BufferedImage>> pixels = decode(frames, run.progress().frameObserver(frames.length * frames[0].length));
        run.end();
        return pixels;
    }

    /** Decodes every frame, telling {@code observer} after each one (frames done so far, sample-major). */
    List<List<BufferedImage>> decode(int[][][] frames, SuperResolution.BatchObserver observer) {
        List<List<BufferedImage>> images = new ArrayList<>(frames.length);
        int done = 0;
        for (int[][] sample : frames) {
            List<BufferedImage> row = new ArrayList<>(sample.length);
            for (int[] f : sample) {
                row.add(decoder.decode(f));
                observer.afterBatch(++done);
            }
            images.add(row);
        }
        return images;
    }
}
