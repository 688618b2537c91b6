package io.cogvideo.checkpoint;

import io.cogvideo.spi.DType;

/**
 * A torch storage as named by a {@code torch.save} pickle's persistent id
 * {@code ('storage', storage_type, key, location, numel)}: its bytes are the zip entry {@code <prefix>/data/<key>}.
 * Inert: nothing is read when this is created. Package-private: an internal of the pickle reader.
 *
 * @param storageType the storage class, e.g. {@code torch.HalfStorage}
 * @param dtype       the element type, or {@code null} if the storage class has no supported {@link DType}
 *                    (e.g. {@code torch.ShortStorage}); such storages are rejected when a tensor is materialised
 * @param key         the storage key (the file name under {@code data/})
 * @param location    where the storage lived when saved, e.g. {@code "cpu"} or {@code "cuda:0"} (ignored)
 * @param numel       declared number of elements of the storage
 */
record TorchStorageRef(PickleGlobal storageType, DType dtype, String key, String location, long numel) {
}
