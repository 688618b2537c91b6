package io.cogvideo.checkpoint;

import io.cogvideo.checkpoint.TorchCheckpoint.StoredEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

/**
 * Reads {@code torch.save} checkpoints in the zip format (PyTorch 1.6+; what SwissArmyTransformer and DeepSpeed
 * write): {@code <archive>/data.pkl} (the pickled object graph), {@code <archive>/data/<storage key>} (raw
 * little-endian tensor bytes, stored uncompressed), {@code <archive>/version}, optionally
 * {@code <archive>/byteorder}.
 *
 * <p>The pickle is never executed: only an allow-list of torch/collections globals is interpreted (see
 * {@link TorchCheckpoint} for how values map to Java), every other global becomes an inert placeholder (a
 * package-internal {@code PickleGlobal} or {@code PickleObject}). Tensor bytes are not copied: each tensor is a slice
 * of a read-only memory mapping of its storage entry, so checkpoints larger than 2 GiB work as long as each single
 * tensor is below 2 GiB.
 *
 * <p>Every problem is reported as a {@link CheckpointException} naming the file: not a zip (or a legacy pre-1.6
 * checkpoint), truncated zip, missing {@code data.pkl}, corrupt or truncated pickle, big-endian data, and, when a
 * state dict is extracted, the tensor problems listed in {@link TorchCheckpoint#stateDict(String)}. CRCs of storage
 * entries are not verified (that would mean reading every byte).
 */
public final class TorchCheckpointReader {
    private TorchCheckpointReader() {
    }

    /**
     * Opens and parses a {@code torch.save} zip checkpoint. The tensors are not touched until
     * {@link TorchCheckpoint#stateDict(String)} is called.
     *
     * @throws CheckpointException naming the file and the problem
     */
    public static TorchCheckpoint read(Path ptFile) {
        long fileSize = InputFiles.requireRegularFile(ptFile, "checkpoint");
        ReadLimits limits = ReadLimits.defaults();
        List<ZipStructure.Entry> entries;
        try {
            entries = ZipStructure.check(ptFile);
        } catch (CheckpointException e) {
            if (startsWithPk(ptFile)) {
                throw e;
            }
            throw notAZip(ptFile, fileSize, e);
        }
        // commons-compress is handed our own channel: when it fails on a corrupt archive it does not close a
        // channel it opened itself, which would leak a file descriptor per bad file
        try (SeekableByteChannel channel = Files.newByteChannel(ptFile, StandardOpenOption.READ)) {
            ZipFile zip;
            try {
                zip = ZipFile.builder().setSeekableByteChannel(channel).get();
            } catch (IOException | RuntimeException e) {
                throw notAZip(ptFile, fileSize, e);
            }
            try (zip) {
                String prefix = findPrefix(ptFile, zip);
                checkByteOrder(ptFile, zip, prefix);
                Map<String, StoredEntry> storages = storageEntries(ptFile, entries, prefix, fileSize);
                byte[] pickle = readPickle(ptFile, zip, prefix + "data.pkl", limits.pickleBytes());
                Object root = new SafeTorchUnpickler(ptFile, limits).unpickle(pickle);
                return new TorchCheckpoint(ptFile, fileSize, prefix, root, storages);
            }
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException(ptFile, "cannot read zip entries (truncated or corrupt zip?): " + e, e);
        }
    }

    private static boolean startsWithPk(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && head[0] == 'P' && head[1] == 'K';
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Reads the {@code module} entry of a DeepSpeed/SwissArmyTransformer checkpoint (or icetk's
     * {@code {'module': state_dict}} files).
     *
     * @throws CheckpointException naming the file and the problem
     */
    public static StateDict readModule(Path ptFile) {
        return read(ptFile).stateDict("module");
    }

    private static CheckpointException notAZip(Path file, long fileSize, Exception cause) {
        byte[] head = new byte[4];
        int n = 0;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 4);
        } catch (IOException e) {
            // fall through to the generic message
        }
        if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 0 && head[1] <= 5) {
            return new CheckpointException(file, "a legacy (pre-1.6, non-zip) torch.save file, which is not"
                    + " supported; re-save it with a current PyTorch", cause);
        }
        if (n == 4 && head[0] == 'P' && head[1] == 'K') {
            return new CheckpointException(file, "truncated or corrupt zip archive (" + fileSize + " bytes): "
                    + cause.getMessage(), cause);
        }
        return new CheckpointException(file, "not a zip archive (torch.save checkpoint), " + fileSize + " bytes: "
                + cause.getMessage(), cause);
    }

    /** The archive folder holding {@code data.pkl}, with a trailing slash ("" if it lies at the zip root). */
    private static String findPrefix(Path file, ZipFile zip) {
        List<String> candidates = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (ZipArchiveEntry e : Collections.list(zip.getEntries())) {
            String name = e.getName();
            if (names.size() < 10) {
                names.add(name);
            }
            if (name.equals("data.pkl")) {
                candidates.add("");
            } else if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                candidates.add(name.substring(0, name.length() - "data.pkl".length()));
            }
        }
        if (candidates.isEmpty()) {
            throw new CheckpointException(file, "no data.pkl in the zip, so this is not a torch.save checkpoint;"
                    + " entries: " + names);
        }
        if (candidates.size() > 1) {
            throw new CheckpointException(file, "several data.pkl entries in the zip: " + candidates);
        }
        return candidates.get(0);
    }

    /**
     * torch.save stores entries uncompressed; deflate is accepted too. Other methods are refused by number before
     * any read: commons-compress would reach for optional codec libraries (zstd, xz...) that are not on the class
     * path and fail with a NoClassDefFoundError.
     */
    private static void requireReadableMethod(Path file, ZipFile zip, ZipArchiveEntry e) {
        if (e.getMethod() != ZipArchiveEntry.STORED && e.getMethod() != ZipArchiveEntry.DEFLATED
                || !zip.canReadEntryData(e)) {
            throw new CheckpointException(file, e.getName() + " uses the zip compression method " + e.getMethod()
                    + "; only stored (0) and deflated (8) entries are read");
        }
    }

    private static void checkByteOrder(Path file, ZipFile zip, String prefix) throws IOException {
        ZipArchiveEntry e = zip.getEntry(prefix + "byteorder");
        if (e == null) {
            return;
        }
        requireReadableMethod(file, zip, e);
        byte[] b;
        try (InputStream in = zip.getInputStream(e)) {
            b = in.readNBytes(32);
        }
        String order = new String(b, StandardCharsets.US_ASCII).trim();
        if (!order.equals("little")) {
            throw new CheckpointException(file, "tensor data is stored in '" + Inert.clip(order)
                    + "' byte order; only little-endian checkpoints are supported");
        }
    }

    /** Storage entries, located by the checked directory ({@link ZipStructure}: no overlaps, local headers read). */
    private static Map<String, StoredEntry> storageEntries(Path file, List<ZipStructure.Entry> entries, String prefix,
            long fileSize) {
        Map<String, StoredEntry> out = new LinkedHashMap<>();
        String dataDir = prefix + "data/";
        for (ZipStructure.Entry e : entries) {
            String name = e.name();
            if (!name.startsWith(dataDir) || name.length() == dataDir.length() || name.endsWith("/")) {
                continue;
            }
            long offset = e.dataOffset();
            long csize = e.compressedSize();
            if (offset > fileSize || csize > fileSize - offset) {
                throw new CheckpointException(file, "zip entry '" + name + "' (" + csize + " bytes at " + offset
                        + ") extends past the end of the file (" + fileSize + " bytes): truncated?");
            }
            out.putIfAbsent(name, new StoredEntry(name, e.method(), offset, e.size(), csize));
        }
        return out;
    }

    private static byte[] readPickle(Path file, ZipFile zip, String name, long maxBytes) throws IOException {
        ZipArchiveEntry e = zip.getEntry(name);
        if (e.getSize() > maxBytes) {
            throw new CheckpointException(file, name + " is " + e.getSize() + " bytes, more than the limit of "
                    + ReadLimits.named("pickleBytes", maxBytes));
        }
        requireReadableMethod(file, zip, e);
        byte[] data;
        try (InputStream in = zip.getInputStream(e)) {
            data = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 16L, maxBytes + 1));
        }
        if (data.length > maxBytes) {
            throw new CheckpointException(file, name + " expands to more than the limit of "
                    + ReadLimits.named("pickleBytes", maxBytes) + " bytes");
        }
        if (e.getSize() >= 0 && data.length != e.getSize()) {
            throw new CheckpointException(file, name + " should have " + e.getSize() + " bytes but " + data.length
                    + " could be read: truncated zip");
        }
        return data;
    }
}
