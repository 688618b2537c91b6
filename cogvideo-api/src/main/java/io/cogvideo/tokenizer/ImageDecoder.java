package io.cogvideo.tokenizer;

import io.cogvideo.spi.OpPack;
import java.awt.image.BufferedImage;
import java.util.Set;

/** Turns a square grid of image tokens (row-major) into pixels; the VQ-VAE decoder. Thread-safe. */
@FunctionalInterface
public interface ImageDecoder {
    /** Decodes one frame. */
    BufferedImage decode(int[] tokens);

    /**
     * The op packs this decoder needs on the generator's backend; the generator checks them before any work of a
     * request, so that a request never reaches decoding without them. Default: none (a decoder that does not use the
     * backend, such as a host application's own).
     */
    default Set<Class<? extends OpPack>> requiredPacks() {
        return Set.of();
    }

    /** {@code decoder}, declaring that it runs on the generator's backend and needs {@code packs} there. */
    static ImageDecoder needing(Set<Class<? extends OpPack>> packs, ImageDecoder decoder) {
        Set<Class<? extends OpPack>> copy = Set.copyOf(packs);
        return new ImageDecoder() {
            @Override
            public BufferedImage decode(int[] tokens) {
                return decoder.decode(tokens);
            }

            @Override
            public Set<Class<? extends OpPack>> requiredPacks() {
                return copy;
            }
        };
    }
}
