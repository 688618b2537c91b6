package io.cogvideo.checkpoint;

import java.util.Arrays;

/**
 * A tensor as declared by a {@code torch.save} pickle ({@code torch._utils._rebuild_tensor_v2} and friends): a
 * view of a {@link TorchStorageRef} at an element offset with a shape and strides. Inert and unvalidated; see
 * {@link TorchCheckpoint#tensor(String, TorchTensorRef)} for turning it into checked, memory-mapped data.
 * Package-private: an internal of the pickle reader; users get tensors from {@link TorchCheckpoint#stateDict(String)}.
 *
 * @param storage       the storage the tensor views
 * @param storageOffset offset of the first element, in elements of the storage
 * @param shape         sizes, outermost first, as declared (not yet range-checked)
 * @param stride        strides in elements, as declared
 */
record TorchTensorRef(TorchStorageRef storage, long storageOffset, long[] shape, long[] stride) {

    /** Copies the arrays. */
    public TorchTensorRef {
        shape = shape.clone();
        stride = stride.clone();
    }

    /** The declared sizes (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The declared strides in elements (a copy). */
    @Override
    public long[] stride() {
        return stride.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TorchTensorRef t && t.storage.equals(storage) && t.storageOffset == storageOffset
                && Arrays.equals(t.shape, shape) && Arrays.equals(t.stride, stride);
    }

    @Override
    public int hashCode() {
        return (storage.hashCode() * 31 + Long.hashCode(storageOffset)) * 31 + Arrays.hashCode(shape) * 17
                + Arrays.hashCode(stride);
    }

    @Override
    public String toString() {
        String type = storage.storageType() == null ? "?" : storage.storageType().qualifiedName();
        return "tensor " + Arrays.toString(shape) + " of " + type + " '" + storage.key() + "' at offset "
                + storageOffset;
    }
}
