package io.cogvideo.examples.demo;

import io.cogvideo.examples.demo.world.Caption;
import io.cogvideo.examples.demo.world.WorldClip;
import io.cogvideo.examples.demo.world.WorldRenderer;
import io.cogvideo.training.vq.VqTrainingImages;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Frames of the world for the VQ-VAE: image {@code index} with draw seed {@code seed} is one caption (index modulo
 * 48), one random clip of it and one random instant of the 4 s clip, all derived from {@code (index, seed)} only.
 */
final class WorldImages implements VqTrainingImages {
    private static final List<Caption> CAPTIONS = Caption.all();
    private final int canvas;
    private final int size;
    private final long baseSeed;
    private final WorldRenderer renderer = new WorldRenderer();

    /**
     * @param canvas   frame side in pixels
     * @param size     distinct indexes
     * @param baseSeed mixed into every draw (a different value gives a disjoint set, e.g. for held-out images)
     */
    WorldImages(int canvas, int size, long baseSeed) {
        this.canvas = canvas;
        this.size = size;
        this.baseSeed = baseSeed;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int height() {
        return canvas;
    }

    @Override
    public int width() {
        return canvas;
    }

    @Override
    public float[] image(int index, long seed) {
        SplittableRandom r = new SplittableRandom(baseSeed * 0x9E3779B97F4A7C15L ^ (index * 31L + seed));
        Caption c = CAPTIONS.get(Math.floorMod(index, CAPTIONS.size()));
        WorldClip clip = WorldClip.random(c, r.nextLong());
        return renderer.render(clip, r.nextDouble() * WorldClip.DURATION_SECONDS, canvas);
    }
}
