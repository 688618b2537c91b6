package io.cogvideo.spi;

/**
 * An opaque handle to a tensor owned by a {@link Backend}. Activations are rank 3 ({@code [batch, rows, columns]});
 * weights are rank 1 or 2 as stored in the checkpoint ({@code [out, in]} for linear layers).
 *
 * <p>Handles are only valid with the backend that made them. Closing releases device memory early; a backend may
 * also reclaim unreachable tensors on its own.
 */
public interface Tensor extends AutoCloseable {

    /** Dimensions, outermost first (a copy). */
    int[] shape();

    /** Size of one dimension; negative indexes count from the end. */
    default int dim(int axis) {
        int[] s = shape();
        return s[axis < 0 ? s.length + axis : axis];
    }

    /** Element type as stored by the backend. */
    DType dtype();

    /** Releases the tensor's memory. Using the tensor afterwards is an error. Idempotent. */
    @Override
    void close();
}
