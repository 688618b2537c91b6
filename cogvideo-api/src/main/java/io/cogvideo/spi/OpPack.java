package io.cogvideo.spi;

/**
 * A named group of operations beyond the primitive {@link Backend} layer, found by capability with
 * {@link Backend#find}. Every pack interface extends this marker; the packs are:
 * <ul>
 *   <li>{@link FusedAttention}: CogVideo's dual-channel attention (structured masks, channel mix);</li>
 *   <li>{@link LocalAttention}: CogView2's local attention for super-resolution;</li>
 *   <li>{@link VqVaeOps}: the image tokenizer's convolutional operations;</li>
 *   <li>{@link TrainingOps}: backward passes, training attention and the fused loss (training).</li>
 * </ul>
 * A model asks for what it needs when it is built ({@link OpPacks#require}), so that a missing capability fails
 * before any work.
 */
public interface OpPack {
}
