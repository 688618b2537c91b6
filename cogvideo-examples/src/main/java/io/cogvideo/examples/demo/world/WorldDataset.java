package io.cogvideo.examples.demo.world;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The clips of the demo world: every one of the 48 captions {@code videosPerCaption} times, deterministic from the
 * seed. Order: caption-major in {@link Caption#all()} order, then repetition 0..videosPerCaption - 1.
 *
 * @param videosPerCaption clips per caption, 1..100000
 * @param seed the dataset seed; clip (caption, repetition) uses {@link #clipSeed(int)} of its index
 */
public record WorldDataset(int videosPerCaption, long seed) {

    /**
     * One clip of the dataset with where it came from.
     *
     * @param index position in {@link #items()}
     * @param repetition 0..videosPerCaption - 1 within its caption
     * @param seed the seed given to {@link WorldClip#random(Caption, long)}
     * @param clip the clip
     */
    public record Item(int index, int repetition, long seed, WorldClip clip) {
        /** The clip's caption. */
        public Caption caption() {
            return clip.caption();
        }
    }

    /**
     * A split of the dataset into training and held-out items.
     *
     * @param training items used for training
     * @param heldOut items kept for evaluation
     */
    public record Split(List<Item> training, List<Item> heldOut) {
    }

    /** Validates the count. */
    public WorldDataset {
        if (videosPerCaption < 1 || videosPerCaption > 100_000) {
            throw new IllegalArgumentException("videosPerCaption " + videosPerCaption + " out of range [1, 100000]");
        }
    }

    /** Number of clips, 48 * videosPerCaption. */
    public int size() {
        return Caption.all().size() * videosPerCaption;
    }

    /** The seed of the clip at {@code index} (a SplitMix64 mix of the dataset seed and the index). */
    public long clipSeed(int index) {
        long z = seed + 0x9E3779B97F4A7C15L * (index + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** All items, caption-major then repetition. */
    public List<Item> items() {
        List<Caption> captions = Caption.all();
        List<Item> items = new ArrayList<>(size());
        for (Caption c : captions) {
            for (int r = 0; r < videosPerCaption; r++) {
                int index = items.size();
                long s = clipSeed(index);
                items.add(new Item(index, r, s, WorldClip.random(c, s)));
            }
        }
        return Collections.unmodifiableList(items);
    }

    /** All clips, in {@link #items()} order. */
    public List<WorldClip> clips() {
        return items().stream().map(Item::clip).toList();
    }

    /**
     * Holds out every {@code every}-th repetition of each caption: items with repetition % every == every - 1. With
     * videosPerCaption >= every, both parts hold every caption.
     *
     * @param every 2..videosPerCaption (at least one clip per caption held out)
     */
    public Split split(int every) {
        if (every < 2 || every > videosPerCaption) {
            throw new IllegalArgumentException("every " + every + " out of range [2, " + videosPerCaption
                    + "] (videosPerCaption " + videosPerCaption + ")");
        }
        List<Item> training = new ArrayList<>();
        List<Item> heldOut = new ArrayList<>();
        for (Item it : items()) {
            (it.repetition() % every == every - 1 ? heldOut : training).add(it);
        }
        return new Split(Collections.unmodifiableList(training), Collections.unmodifiableList(heldOut));
    }
}
