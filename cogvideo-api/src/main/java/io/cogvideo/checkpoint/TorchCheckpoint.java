package io.cogvideo.checkpoint;

import io.cogvideo.spi.DType;
import io.cogvideo.spi.TensorData;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;

/**
 * A parsed {@code torch.save} zip checkpoint (see {@link TorchCheckpointReader#read(Path)}): the unpickled
 * top-level object as inert Java data, plus the location of every storage entry so that tensors can be
 * memory-mapped on demand.
 *
 * <p>Unpickled values map to Java as follows: dicts and OrderedDicts to {@code LinkedHashMap}, lists to
 * {@code ArrayList}, tuples (and {@code torch.Size}) to {@code Object[]}, sets to {@code LinkedHashSet}, str to
 * {@code String}, bytes to {@code byte[]}, int to {@code Integer}/{@code Long}/{@code BigInteger}, float to
 * {@code Double}, bool to {@code Boolean}, None to {@code null}; tensors and anything built from a global outside
 * the allow-list become inert values of types internal to this package ({@code TorchTensorRef},
 * {@code PickleGlobal}, {@code PickleObject}) whose {@code toString()} describes them. Tensors are handed out only
 * through {@link #stateDict(String)}, validated and memory-mapped. Instances are immutable in intent; do not modify
 * the containers returned by {@link #root()}.
 */
public final class TorchCheckpoint {
    private static final int MAX_KEYS_SHOWN = 40;

    private final Path file;
    private final long fileSize;
    private final String prefix;
    private final Object root;
    private final Map<String, StoredEntry> entries;

    /** Location of one zip entry's bytes in the file. */
    record StoredEntry(String name, int method, long dataOffset, long size, long compressedSize) {
    }

    TorchCheckpoint(Path file, long fileSize, String prefix, Object root, Map<String, StoredEntry> entries) {
        this.file = file;
        this.fileSize = fileSize;
        this.prefix = prefix;
        this.root = root;
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    }

    /** The checkpoint file. */
    public Path file() {
        return file;
    }

    /** The archive's top-level folder name inside the zip (e.g. {@code mp_rank_00_model_states}). */
    public String archiveName() {
        return prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
    }

    /** The unpickled top-level object, as inert Java data (see the class comment for the mapping). */
    public Object root() {
        return root;
    }

    /** The keys of the top-level dict, in pickle order (empty if the top-level object is not a dict). */
    public Set<Object> topLevelKeys() {
        return root instanceof Map<?, ?> m ? Collections.unmodifiableSet(m.keySet()) : Set.of();
    }

    /**
     * The state dict stored under the top-level key {@code entry} (DeepSpeed/SwissArmyTransformer use
     * {@code "module"}), every tensor validated and memory-mapped.
     *
     * @throws CheckpointException if the top-level object is not a dict, the entry is missing (the message lists
     *                             the top-level keys found), it is not a dict of string keys, one of its values is
     *                             not a tensor (e.g. a placeholder for a forbidden global, which is never executed),
     *                             or a tensor fails validation (unsupported storage type, negative or absurd
     *                             dimensions, element-count overflow, non-contiguous strides, storage entry missing
     *                             or compressed, declared sizes or offsets beyond the storage entry's bytes)
     */
    public StateDict stateDict(String entry) {
        if (!(root instanceof Map<?, ?> top)) {
            throw new CheckpointException(file, "the checkpoint holds " + Inert.describe(root)
                    + ", not a dict with a '" + entry + "' entry");
        }
        if (!top.containsKey(entry)) {
            throw new CheckpointException(file, "no '" + entry + "' entry in the checkpoint; top-level keys found: "
                    + Inert.describeKeys(top.keySet(), MAX_KEYS_SHOWN));
        }
        Object value = top.get(entry);
        if (!(value instanceof Map<?, ?> sd)) {
            throw new CheckpointException(file, "entry '" + entry + "' is " + Inert.describe(value)
                    + ", not a state dict");
        }
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        try (MappedFile mapped = MappedFile.open(file, fileSize)) {
            for (Map.Entry<?, ?> e : sd.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new CheckpointException(file, "entry '" + entry + "' has a key that is "
                            + Inert.describe(e.getKey()) + ", not a string");
                }
                tensors.put(key, materialize(mapped, key, e.getValue(), "'" + entry + "'"));
            }
        }
        return StateDict.of(file, tensors);
    }

    /**
     * Validates one tensor declaration and returns its bytes as a memory-mapped, read-only {@link TensorData}.
     * Package-private, like the {@link TorchTensorRef} it takes (tests and diagnostics in this package).
     *
     * @param name the name to give the tensor (used in messages)
     * @param ref  a tensor found in {@link #root()}
     * @throws CheckpointException naming the file and the problem: unsupported storage type, negative or absurd
     *                             dimensions, element-count overflow, non-contiguous strides, storage entry missing
     *                             or compressed, declared sizes or offsets beyond the storage entry's bytes
     */
    TensorData tensor(String name, TorchTensorRef ref) {
        try (MappedFile mapped = MappedFile.open(file, fileSize)) {
            return materialize(mapped, name, ref, "the checkpoint");
        }
    }

    private TensorData materialize(MappedFile mapped, String key, Object value, String where) {
        if (!(value instanceof TorchTensorRef ref)) {
            String found = Inert.describe(value);
            if (value instanceof PickleGlobal || (value instanceof PickleObject o && o.global() != null)) {
                found += ", not a tensor: refusing to execute code from a checkpoint";
            } else {
                found += ", not a tensor";
            }
            throw new CheckpointException(file, "key '" + key + "' in " + where + " is " + found);
        }
        TorchStorageRef storage = ref.storage();
        String what = "tensor '" + key + "'";
        DType dtype = storage.dtype();
        if (dtype == null) {
            throw new CheckpointException(file, what + " uses storage type " + storage.storageType().qualifiedName()
                    + ", which is not supported (supported element types: " + Arrays.toString(DType.values()) + ")");
        }
        long[] shape = ref.shape();
        long[] stride = ref.stride();
        int[] dims = new int[shape.length];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0 || shape[i] > Integer.MAX_VALUE) {
                throw new CheckpointException(file, what + " declares shape " + Arrays.toString(shape)
                        + " with a negative or absurd dimension " + shape[i]);
            }
            dims[i] = (int) shape[i];
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException e) {
                throw new CheckpointException(file, what + " declares shape " + Arrays.toString(shape)
                        + " whose element count overflows");
            }
        }
        long elem = dtype.byteSize();
        long bytes;
        long offsetBytes;
        long storageBytes;
        try {
            bytes = Math.multiplyExact(numel, elem);
            offsetBytes = Math.multiplyExact(ref.storageOffset(), elem);
            storageBytes = Math.multiplyExact(storage.numel(), elem);
            Math.addExact(offsetBytes, bytes);
        } catch (ArithmeticException e) {
            throw new CheckpointException(file, what + " of shape " + Arrays.toString(shape) + " at storage offset "
                    + ref.storageOffset() + " declares a byte size that overflows");
        }
        if (stride.length != shape.length) {
            throw new CheckpointException(file, what + " has shape " + Arrays.toString(shape) + " but strides "
                    + Arrays.toString(stride));
        }
        long[] contiguous = contiguousStrides(shape);
        if (numel > 0) {
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] != 1 && stride[i] != contiguous[i]) {
                    throw new CheckpointException(file, what + " of shape " + Arrays.toString(shape)
                            + " has non-contiguous strides " + Arrays.toString(stride) + " (expected "
                            + Arrays.toString(contiguous) + "); only contiguous C-order tensors are supported");
                }
            }
        }
        if (offsetBytes + bytes > storageBytes) {
            throw new CheckpointException(file, what + " of shape " + Arrays.toString(shape) + " needs elements ["
                    + ref.storageOffset() + ", " + (ref.storageOffset() + numel) + ") (" + bytes + " bytes at byte "
                    + offsetBytes + ") but storage '" + storage.key() + "' declares only " + storage.numel()
                    + " elements (" + storageBytes + " bytes)");
        }
        String entryName = prefix + "data/" + storage.key();
        StoredEntry entry = entries.get(entryName);
        if (entry == null) {
            throw new CheckpointException(file, what + ": storage entry '" + entryName + "' is missing from the zip");
        }
        if (entry.method() != ZipEntry.STORED) {
            throw new CheckpointException(file, what + ": storage entry '" + entryName + "' is compressed (zip"
                    + " method " + entry.method() + "); torch.save writes uncompressed (stored) entries, which can be"
                    + " memory-mapped — re-save it, or re-zip with 'zip -0'");
        }
        if (entry.compressedSize() != entry.size()) {
            throw new CheckpointException(file, "storage entry '" + entryName + "' is stored but its compressed size "
                    + entry.compressedSize() + " differs from its size " + entry.size());
        }
        if (storageBytes > entry.size()) {
            throw new CheckpointException(file, what + ": storage '" + storage.key() + "' declares " + storage.numel()
                    + " elements (" + storageBytes + " bytes) but its entry '" + entryName + "' holds only "
                    + entry.size() + " bytes");
        }
        ByteBuffer data = mapped.slice(entry.dataOffset(), entry.size(), offsetBytes, bytes, what);
        return new TensorData(key, dtype, dims, data);
    }

    private static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(shape[i], 1);
        }
        return s;
    }

    /** The zip entries this checkpoint knows (storage entries), for tests and diagnostics. */
    List<String> storageEntryNames() {
        return List.copyOf(entries.keySet());
    }

    @Override
    public String toString() {
        return "TorchCheckpoint[" + file + ", top-level " + Inert.describe(root) + "]";
    }
}
