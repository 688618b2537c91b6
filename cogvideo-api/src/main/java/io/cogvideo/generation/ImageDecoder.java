package io.cogvideo.generation;

import java.awt.image.BufferedImage;

/** Turns a square grid of image tokens (row-major) into pixels; the VQ-VAE decoder. Thread-safe. */
@FunctionalInterface
public interface ImageDecoder {
    /** Decodes one frame. */
    BufferedImage decode(int[] tokens);
}
