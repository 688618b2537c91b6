package io.cogvideo.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import org.junit.jupiter.api.Test;

/** Launch shapes, checked without a GPU. */
class LaunchGeometryTest {

    @Test
    void elementwiseGridsCoverTheWorkButStayBounded() {
        assertThat(LaunchGeometry.elementwiseBlocks(0, 132)).isEqualTo(1);
        assertThat(LaunchGeometry.elementwiseBlocks(1, 132)).isEqualTo(1);
        assertThat(LaunchGeometry.elementwiseBlocks(256, 132)).isEqualTo(1);
        assertThat(LaunchGeometry.elementwiseBlocks(257, 132)).isEqualTo(2);
        assertThat(LaunchGeometry.elementwiseBlocks(3072L * 2, 132)).isEqualTo(24);
        assertThat(LaunchGeometry.elementwiseBlocks(1L << 40, 132)).isEqualTo(132 * 32); // grid-stride beyond
        assertThat(LaunchGeometry.rowBlocks(16592, 132)).isEqualTo(8448);
        assertThat(LaunchGeometry.rowBlocks(2, 132)).isEqualTo(2);
        assertThat(LaunchGeometry.rowBlocks(0, 132)).isEqualTo(1);
    }

    @Test
    void headWidthsMapToTheSmallestBucket() {
        assertThat(LaunchGeometry.headBucket(1)).isEqualTo(32);
        assertThat(LaunchGeometry.headBucket(16)).isEqualTo(32); // the tiny golden model
        assertThat(LaunchGeometry.headBucket(33)).isEqualTo(64);
        assertThat(LaunchGeometry.headBucket(64)).isEqualTo(64); // CogVideo
        assertThat(LaunchGeometry.headBucket(128)).isEqualTo(128);
        assertThatThrownBy(() -> LaunchGeometry.headBucket(129)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("129").hasMessageContaining("128");
    }

    @Test
    void cachedStepsUseTheDecodeKernelWithKeySplits() {
        // CogVideo step: batch 2, 48 heads, d 64, the whole stage-1 cache (74 text + 2000 frame keys), H100
        var p = LaunchGeometry.attention(2, 1, 48, 64, 2074, 132);
        assertThat(p.decode()).isTrue();
        assertThat(p.bucket()).isEqualTo(64);
        assertThat(p.gridY()).isEqualTo(48);
        assertThat(p.gridZ()).isEqualTo(2);
        assertThat(p.blockThreads()).isEqualTo(128);
        assertThat(p.splits()).isEqualTo(6); // ceil(4 * 132 / 96)
        assertThat(p.gridX()).isEqualTo(p.splits());
        assertThat(p.workspaceFloats()).isEqualTo(2L * 48 * 6 * 66);
        // batch 8: fewer splits needed
        assertThat(LaunchGeometry.attention(8, 1, 48, 64, 2074, 132).splits()).isEqualTo(2);
        // a short cache: no more splits than 4-tile chunks
        var shortCache = LaunchGeometry.attention(1, 1, 4, 16, 40, 132);
        assertThat(shortCache.splits()).isEqualTo(1);
        assertThat(shortCache.workspaceFloats()).isZero();
    }

    @Test
    void splitsNeverLeaveWarpsWithoutTiles() {
        for (int keys = 1; keys < 3000; keys += 37) {
            for (int units : new int[] {1, 4, 96, 384, 5000}) {
                int s = LaunchGeometry.decodeSplits(units, keys, 132);
                int tiles = (keys + 31) / 32 + 1;
                assertThat(s).isBetween(1, LaunchGeometry.MAX_SPLITS);
                assertThat(s == 1 || tiles / s >= LaunchGeometry.ATTN_WARPS).as(keys + " keys, " + units + " units")
                        .isTrue();
            }
        }
    }

    @Test
    void prefillTilesQueryRows() {
        var p = LaunchGeometry.attention(1, 2074, 48, 64, 2074, 132);
        assertThat(p.decode()).isFalse();
        assertThat(p.gridX()).isEqualTo(1);
        assertThat(p.gridZ()).isEqualTo((2074 + 31) / 32);
        assertThat(p.splits()).isEqualTo(1);
        var wide = LaunchGeometry.attention(3, 100, 2, 100, 100, 132);
        assertThat(wide.bucket()).isEqualTo(128);
        assertThat(wide.gridZ()).isEqualTo(3 * ((100 + 15) / 16));
        assertThat(LaunchGeometry.attention(1, 5, 4, 16, 10, 132).decode()).isFalse();
        assertThat(LaunchGeometry.attention(1, 4, 4, 16, 10, 132).decode()).isTrue();
        assertThatThrownBy(() -> LaunchGeometry.attention(70000, 1, 4, 16, 10, 132))
                .hasMessageContaining("grid limit");
    }
}
