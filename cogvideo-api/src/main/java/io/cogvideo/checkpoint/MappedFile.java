package io.cogvideo.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Read-only memory mapping of regions of one file. A region (a zip entry, a safetensors data section) of up to
 * 2 GiB is mapped once and sliced; a larger region is mapped piecewise, one slice per request, so files of any size
 * work as long as each single slice fits a {@link ByteBuffer}. Mappings outlive the channel, which is closed by
 * {@link #close()}.
 */
final class MappedFile implements AutoCloseable {
    /** The largest slice handed out (the JDK's practical array/buffer limit). */
    static final long MAX_SLICE = Integer.MAX_VALUE - 8L;

    private final Path file;
    private final FileChannel channel;
    private final long size;
    private final Map<Long, MappedByteBuffer> regions = new HashMap<>();

    private MappedFile(Path file, FileChannel channel, long size) {
        this.file = file;
        this.channel = channel;
        this.size = size;
    }

    /** Opens {@code file}; if {@code expectedSize >= 0} the file must still have that size. */
    static MappedFile open(Path file, long expectedSize) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            long size = ch.size();
            if (expectedSize >= 0 && size != expectedSize) {
                ch.close();
                throw new CheckpointException(file, "file changed while being read: it had " + expectedSize
                        + " bytes, now " + size);
            }
            return new MappedFile(file, ch, size);
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot open for reading: " + e, e);
        }
    }

    long size() {
        return size;
    }

    /**
     * A little-endian read-only view of {@code length} bytes at {@code offsetInRegion} of the region
     * {@code [regionStart, regionStart + regionLength)}. Callers check the bounds against the region; this checks
     * them again against the file.
     */
    ByteBuffer slice(long regionStart, long regionLength, long offsetInRegion, long length, String what) {
        if (regionStart < 0 || regionLength < 0 || regionStart > size - regionLength) {
            throw new CheckpointException(file, what + ": region [" + regionStart + ", +" + regionLength
                    + ") lies outside the file (" + size + " bytes; truncated?)");
        }
        if (offsetInRegion < 0 || length < 0 || offsetInRegion > regionLength - length) {
            throw new CheckpointException(file, what + ": bytes [" + offsetInRegion + ", +" + length
                    + ") lie outside its region of " + regionLength + " bytes");
        }
        if (length > MAX_SLICE) {
            throw new CheckpointException(file, what + ": " + length + " bytes is more than one tensor buffer can"
                    + " hold (" + MAX_SLICE + ")");
        }
        try {
            ByteBuffer b;
            if (regionLength <= Integer.MAX_VALUE) {
                MappedByteBuffer whole = regions.get(regionStart);
                if (whole == null || whole.capacity() != regionLength) {
                    whole = channel.map(FileChannel.MapMode.READ_ONLY, regionStart, regionLength);
                    regions.put(regionStart, whole);
                }
                b = whole.slice((int) offsetInRegion, (int) length);
            } else {
                b = channel.map(FileChannel.MapMode.READ_ONLY, regionStart + offsetInRegion, length);
            }
            return b.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointException(file, what + ": cannot memory-map: " + e, e);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // read-only channel; nothing to flush
        }
    }
}
