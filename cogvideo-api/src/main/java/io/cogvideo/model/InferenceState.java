package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-request state of one batch of sequences: the two key/value caches of every layer (spatial "base" channel and
 * temporal "plus" channel), preallocated, and how far they are filled. Not thread-safe: a state belongs to the thread
 * that generates with it; the model and its weights are shared.
 */
public final class InferenceState implements AutoCloseable {
    final int batch;
    final int textLength;
    final SequenceOptions options;
    final int baseCapacity;
    final int plusCapacity;
    /** Element type the caches are held in (the backend may widen the requested type). */
    final DType cacheType;
    /** Per layer: [batch, capacity, h]. */
    final List<Tensor> baseK = new ArrayList<>();
    final List<Tensor> baseV = new ArrayList<>();
    final List<Tensor> plusK = new ArrayList<>();
    final List<Tensor> plusV = new ArrayList<>();
    /** Valid rows of the base cache: text, then the cached part of the current (or every) frame. */
    int baseLength;
    /** Valid rows of the plus cache: text, then every frame token so far. */
    int plusLength;
    /** Frame-space position of the first frame row held in the base cache. */
    int baseFrameStart;
    /** Sequence index (text + frame tokens) of the next token to feed. */
    int nextIndex;
    private boolean closed;

    InferenceState(CogVideoConfig c, Backend backend, DType requestedCacheType, int batch, int textLength,
            SequenceOptions options) {
        if (batch < 1) {
            throw new CogVideoException("batch must be >= 1, got " + batch);
        }
        if (textLength < 1) {
            throw new CogVideoException("text length must be >= 1, got " + textLength);
        }
        this.batch = batch;
        this.textLength = textLength;
        this.options = options;
        int frames = c.frameCount() * c.frameLength();
        this.baseCapacity = textLength + (options.limitedBaseCache() ? c.frameLength() : frames);
        this.plusCapacity = options.imageMode() ? 0 : textLength + frames;
        int h = c.hiddenSize();
        try {
            for (int i = 0; i < c.numLayers(); i++) {
                baseK.add(backend.cache(requestedCacheType, batch, baseCapacity, h));
                baseV.add(backend.cache(requestedCacheType, batch, baseCapacity, h));
                if (!options.imageMode()) {
                    plusK.add(backend.cache(requestedCacheType, batch, plusCapacity, h));
                    plusV.add(backend.cache(requestedCacheType, batch, plusCapacity, h));
                }
            }
        } catch (RuntimeException e) {
            close(); // a failed allocation (out of memory, unsupported type) releases what was made
            throw e;
        }
        this.cacheType = baseK.get(0).dtype();
    }

    /** Sequences in the batch. */
    public int batch() {
        return batch;
    }

    /** Text tokens at the head of every sequence of this state. */
    public int textLength() {
        return textLength;
    }

    /** The attention options of this state. */
    public SequenceOptions options() {
        return options;
    }

    /** Sequence index of the next token to feed (text + frame tokens already seen). */
    public int nextIndex() {
        return nextIndex;
    }

    /** Bytes held by the caches, from their element type. */
    public long cacheBytes(int hiddenSize) {
        return (long) cacheType.byteSize() * 2 * batch * hiddenSize * (long) (baseCapacity + plusCapacity)
                * baseK.size();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        baseK.forEach(Tensor::close);
        baseV.forEach(Tensor::close);
        plusK.forEach(Tensor::close);
        plusV.forEach(Tensor::close);
    }

    void checkOpen() {
        if (closed) {
            throw new CogVideoException("inference state is closed");
        }
    }
}
