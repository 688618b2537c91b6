package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappedFileTest {
    @TempDir
    Path tmp;

    @Test
    void regionsBeyondTwoGibibytesAreMappedPiecewise() throws IOException {
        Path f = tmp.resolve("sparse.bin");
        long size = (1L << 31) + 4096;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
            raf.seek(size - 8);
            raf.write(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        }
        try (MappedFile m = MappedFile.open(f, size)) {
            ByteBuffer b = m.slice(0, size, size - 8, 8, "tail");
            assertThat(b.remaining()).isEqualTo(8);
            assertThat(b.get(0)).isEqualTo((byte) 1);
            assertThat(b.get(7)).isEqualTo((byte) 8);
            assertThat(b.isReadOnly()).isTrue();
            assertThatThrownBy(() -> m.slice(0, size, size - 4, 8, "past end"))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("lie outside");
            assertThatThrownBy(() -> m.slice(0, size + 1, 0, 8, "region"))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("outside the file");
            assertThatThrownBy(() -> m.slice(0, size, 0, size, "all"))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("more than one tensor buffer");
        }
        assertThatThrownBy(() -> MappedFile.open(f, size + 1)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("changed");
    }
}
