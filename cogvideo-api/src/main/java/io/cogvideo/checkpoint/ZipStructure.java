package io.cogvideo.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Soundness checks of a zip archive's structure, run before any entry is read (the checks of Python's
 * {@code zipfile}, and a few more): the end-of-central-directory record (and its zip64 form) is found and agrees
 * with the central directory (entry counts, size and offset, nothing unaccounted for between them); every central
 * directory record is well formed; every entry's local header lies where the directory says, has the same name,
 * and its data lies inside the file, before the central directory; no two entries overlap or share bytes (an
 * archive that points two entries at the same data would silently feed one tensor's bytes to another); no name is
 * used twice; a single-disk archive. Every failure is a {@link CheckpointException} naming the file, the entry and
 * the values found.
 */
final class ZipStructure {
    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int CEN_SIG = 0x02014b50;
    private static final int LOC_SIG = 0x04034b50;
    private static final int EOCD_SIZE = 22;
    private static final int CEN_SIZE = 46;
    private static final int LOC_SIZE = 30;
    /** Largest central directory read (a checkpoint of 10,000 tensors needs about 1 MB). */
    static final long MAX_DIRECTORY_BYTES = 256L << 20;

    /** One entry as the central directory and its local header describe it. */
    record Entry(String name, long headerOffset, long dataOffset, long compressedSize, long size, int method) {
        long end() {
            return dataOffset + compressedSize;
        }
    }

    private final Path file;
    private final FileChannel ch;
    private final long size;

    private ZipStructure(Path file, FileChannel ch, long size) {
        this.file = file;
        this.ch = ch;
        this.size = size;
    }

    /**
     * Checks {@code file} and returns its entries in directory order.
     *
     * @throws CheckpointException for an unsound archive, naming the file and the problem
     */
    static List<Entry> check(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return new ZipStructure(file, ch, ch.size()).entries();
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read the zip directory: " + e, e);
        }
    }

    private CheckpointException bad(String problem) {
        return new CheckpointException(file, "truncated or corrupt zip archive (" + size + " bytes): " + problem);
    }

    private ByteBuffer read(long pos, int n, String what) throws IOException {
        if (pos < 0 || n < 0 || pos > size - n) {
            throw bad(what + " at byte " + pos + " (" + n + " bytes) lies outside the file");
        }
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                throw bad(what + " at byte " + pos + " is truncated");
            }
        }
        return b.flip();
    }

    private long findEndRecord() throws IOException {
        if (size < EOCD_SIZE) {
            throw bad("too short for a zip archive");
        }
        int tail = (int) Math.min(size, EOCD_SIZE + 0xffffL);
        ByteBuffer b = read(size - tail, tail, "end of the archive");
        for (int i = tail - EOCD_SIZE; i >= 0; i--) {
            if (b.getInt(i) == EOCD_SIG) {
                int commentLength = b.getShort(i + 20) & 0xffff;
                if (i + EOCD_SIZE + commentLength != tail) {
                    throw bad("the end-of-central-directory record at byte " + (size - tail + i) + " declares a "
                            + commentLength + "-byte comment, but " + (tail - i - EOCD_SIZE) + " bytes follow it");
                }
                return size - tail + i;
            }
        }
        throw bad("no end-of-central-directory record (not a zip, or truncated)");
    }

    private List<Entry> entries() throws IOException {
        long eocd = findEndRecord();
        ByteBuffer e = read(eocd, EOCD_SIZE, "end-of-central-directory record");
        int disk = e.getShort(4) & 0xffff;
        int cdDisk = e.getShort(6) & 0xffff;
        long onDisk = e.getShort(8) & 0xffff;
        long total = e.getShort(10) & 0xffff;
        long cdSize = e.getInt(12) & 0xffffffffL;
        long cdOffset = e.getInt(16) & 0xffffffffL;
        long directoryEnd = eocd;
        if (eocd >= 20 && read(eocd - 20, 4, "zip64 locator").getInt(0) == ZIP64_LOCATOR_SIG) {
            ByteBuffer loc = read(eocd - 20, 20, "zip64 end-of-central-directory locator");
            long z = loc.getLong(8);
            if (loc.getInt(4) != 0 || loc.getInt(16) > 1) {
                throw bad("multi-disk zip64 archives are not supported");
            }
            if (z < 0 || z > eocd - 20 - 56) {
                throw bad("the zip64 locator points at byte " + z + ", outside the file before the end records");
            }
            ByteBuffer z64 = read(z, 56, "zip64 end-of-central-directory record");
            if (z64.getInt(0) != ZIP64_EOCD_SIG) {
                throw bad("no zip64 end-of-central-directory record at byte " + z + " where the locator points");
            }
            long recordSize = z64.getLong(4);
            if (recordSize < 44 || recordSize != eocd - 20 - z - 12) {
                throw bad("the zip64 end record at byte " + z + " declares " + recordSize + " bytes, but "
                        + (eocd - 20 - z - 12) + " lie between it and the locator");
            }
            disk = z64.getInt(16);
            cdDisk = z64.getInt(20);
            onDisk = z64.getLong(24);
            total = z64.getLong(32);
            cdSize = z64.getLong(40);
            cdOffset = z64.getLong(48);
            directoryEnd = z;
        }
        if (disk != 0 || cdDisk != 0) {
            throw bad("multi-disk archives are not supported (disk " + disk + ", directory on disk " + cdDisk + ")");
        }
        if (onDisk != total) {
            throw bad("the end record declares " + total + " entries in all but " + onDisk + " on this disk");
        }
        if (cdSize < 0 || cdOffset < 0 || cdOffset > directoryEnd || cdSize != directoryEnd - cdOffset) {
            throw bad("the end record places the central directory at byte " + cdOffset + " with " + cdSize
                    + " bytes, but the directory must end at byte " + directoryEnd + " where the end records start");
        }
        if (cdSize > MAX_DIRECTORY_BYTES) {
            throw bad("central directory of " + cdSize + " bytes (at most " + MAX_DIRECTORY_BYTES + " read)");
        }
        if (total < 0 || total > cdSize / CEN_SIZE) {
            throw bad("the end record declares " + total + " entries, but a " + cdSize + "-byte central directory"
                    + " holds at most " + cdSize / CEN_SIZE);
        }
        ByteBuffer cd = read(cdOffset, (int) cdSize, "central directory");
        List<Entry> out = new ArrayList<>((int) total);
        Set<String> names = new HashSet<>();
        int p = 0;
        while (p < cdSize) {
            if (cdSize - p < CEN_SIZE || cd.getInt(p) != CEN_SIG) {
                throw bad("central directory record " + out.size() + " at byte " + (cdOffset + p)
                        + " is malformed (no header signature)");
            }
            if (out.size() >= total) {
                throw bad("the central directory holds more entries than the " + total
                        + " the end record declares");
            }
            int flags = cd.getShort(p + 8) & 0xffff;
            int method = cd.getShort(p + 10) & 0xffff;
            long csize = cd.getInt(p + 20) & 0xffffffffL;
            long usize = cd.getInt(p + 24) & 0xffffffffL;
            int nameLength = cd.getShort(p + 28) & 0xffff;
            int extraLength = cd.getShort(p + 30) & 0xffff;
            int commentLength = cd.getShort(p + 32) & 0xffff;
            int startDisk = cd.getShort(p + 34) & 0xffff;
            long offset = cd.getInt(p + 42) & 0xffffffffL;
            int next = p + CEN_SIZE + nameLength + extraLength + commentLength;
            if (next > cdSize) {
                throw bad("central directory record " + out.size() + " runs past the end of the directory");
            }
            byte[] nameBytes = new byte[nameLength];
            cd.get(p + CEN_SIZE, nameBytes);
            String name = new String(nameBytes, (flags & 0x800) != 0 ? StandardCharsets.UTF_8
                    : StandardCharsets.ISO_8859_1);
            // zip64 extra field: the 64-bit values of the fields stored as 0xffffffff, in this order
            int x = p + CEN_SIZE + nameLength;
            int xEnd = x + extraLength;
            while (x + 4 <= xEnd) {
                int id = cd.getShort(x) & 0xffff;
                int len = cd.getShort(x + 2) & 0xffff;
                if (x + 4 + len > xEnd) {
                    throw bad("entry '" + Inert.clip(name) + "' has a malformed extra field");
                }
                if (id == 0x0001) {
                    int q = x + 4;
                    if (usize == 0xffffffffL) {
                        usize = z64Field(cd, q, x + 4 + len, name);
                        q += 8;
                    }
                    if (csize == 0xffffffffL) {
                        csize = z64Field(cd, q, x + 4 + len, name);
                        q += 8;
                    }
                    if (offset == 0xffffffffL) {
                        offset = z64Field(cd, q, x + 4 + len, name);
                    }
                }
                x += 4 + len;
            }
            if (startDisk != 0 && startDisk != 0xffff) {
                throw bad("entry '" + Inert.clip(name) + "' starts on disk " + startDisk);
            }
            if (!names.add(name)) {
                throw bad("the name '" + Inert.clip(name) + "' is used by two entries");
            }
            if (csize < 0 || usize < 0 || offset < 0) {
                throw bad("entry '" + Inert.clip(name) + "' declares a negative size or offset");
            }
            out.add(local(name, offset, csize, usize, method, cdOffset));
            p = next;
        }
        if (out.size() != total) {
            throw bad("the end record declares " + total + " entries but the central directory holds "
                    + out.size());
        }
        List<Entry> byOffset = new ArrayList<>(out);
        byOffset.sort(Comparator.comparingLong(Entry::headerOffset));
        for (int i = 1; i < byOffset.size(); i++) {
            Entry a = byOffset.get(i - 1);
            Entry b = byOffset.get(i);
            if (b.headerOffset() < a.end()) {
                throw bad("entries '" + Inert.clip(a.name()) + "' (bytes " + a.headerOffset() + " to " + a.end()
                        + ") and '" + Inert.clip(b.name()) + "' (from byte " + b.headerOffset()
                        + ") overlap; each entry must have bytes of its own");
            }
        }
        return out;
    }

    private long z64Field(ByteBuffer cd, int q, int end, String name) {
        if (q + 8 > end) {
            throw bad("entry '" + Inert.clip(name) + "' lacks a zip64 size or offset its record calls for");
        }
        return cd.getLong(q);
    }

    private Entry local(String name, long offset, long csize, long usize, int method, long cdOffset)
            throws IOException {
        if (offset > cdOffset - LOC_SIZE) {
            throw bad("entry '" + Inert.clip(name) + "' has its local header at byte " + offset
                    + ", not before the central directory (byte " + cdOffset + ")");
        }
        ByteBuffer h = read(offset, LOC_SIZE, "local header of '" + Inert.clip(name) + "'");
        if (h.getInt(0) != LOC_SIG) {
            throw bad("no local header at byte " + offset + " where the directory places entry '"
                    + Inert.clip(name) + "'");
        }
        int nameLength = h.getShort(26) & 0xffff;
        int extraLength = h.getShort(28) & 0xffff;
        byte[] localName = read(offset + LOC_SIZE, nameLength, "local name of '" + Inert.clip(name) + "'").array();
        String ln = new String(localName, StandardCharsets.UTF_8);
        String ln8859 = new String(localName, StandardCharsets.ISO_8859_1);
        if (!ln.equals(name) && !ln8859.equals(name)) {
            throw bad("entry '" + Inert.clip(name) + "' at byte " + offset + " has the local name '" + Inert.clip(ln)
                    + "'");
        }
        long data = offset + LOC_SIZE + nameLength + extraLength;
        if (data > cdOffset || csize > cdOffset - data) {
            throw bad("entry '" + Inert.clip(name) + "' (" + csize + " bytes from byte " + data
                    + ") runs into the central directory at byte " + cdOffset + " or past the end of the file");
        }
        return new Entry(name, offset, data, csize, usize, method);
    }
}
