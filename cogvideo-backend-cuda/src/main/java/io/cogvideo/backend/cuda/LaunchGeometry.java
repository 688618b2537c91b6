package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;

/**
 * Grid and block shapes of every launch: pure functions of the problem size and the GPU's multiprocessor count, so
 * they are unit-tested here and the GPU only runs what was checked.
 */
final class LaunchGeometry {
    /** Threads per block of the element-wise and row kernels. */
    static final int THREADS = 256;
    /** Warps per attention block (CV_ATTN_WARPS). */
    static final int ATTN_WARPS = 4;
    /** Key rows per attention tile (CV_ATTN_TILE). */
    static final int ATTN_TILE = 32;
    /** Up to this many query rows per batch entry use the decode kernel (one block per row and head). */
    static final int DECODE_MAX_ROWS = 4;
    /** Upper bound on decode key splits. */
    static final int MAX_SPLITS = 64;
    /** CUDA's limit on gridDim.y and gridDim.z. */
    static final int MAX_GRID_YZ = 65535;

    private LaunchGeometry() {
    }

    /** Blocks for a grid-stride loop over {@code n} elements: enough to fill the GPU, never more than needed. */
    static int elementwiseBlocks(long n, int sms) {
        long needed = (n + THREADS - 1) / THREADS;
        long cap = Math.max(1, (long) sms * 32);
        return (int) Math.max(1, Math.min(needed, cap));
    }

    /** Blocks for a row kernel (one block per row, grid-stride over rows). */
    static int rowBlocks(long rows, int sms) {
        long cap = Math.max(1, (long) sms * 64);
        return (int) Math.max(1, Math.min(rows, cap));
    }

    /** The smallest head-width bucket {@code >= d}. */
    static int headBucket(int d) {
        for (int b : Kernel.HEAD_BUCKETS) {
            if (d <= b) {
                return b;
            }
        }
        throw new CogVideoException("attention head width " + d + " is not supported by the cuda kernels (at most "
                + Kernel.HEAD_BUCKETS[Kernel.HEAD_BUCKETS.length - 1] + ")");
    }

    /** Query rows per prefill block for a bucket: 4 warps x 8 rows (4 rows for the 128 bucket, shared memory). */
    static int prefillRowsPerBlock(int bucket) {
        return ATTN_WARPS * (bucket >= 128 ? 4 : 8);
    }

    /**
     * A planned attention launch.
     *
     * @param decode          decode kernel (and maybe combine) rather than prefill
     * @param bucket          head-width bucket (template D)
     * @param gridX           splits (decode) or 1 (prefill)
     * @param gridY           heads
     * @param gridZ           batch x query rows (decode) or batch x query tiles (prefill)
     * @param blockThreads    threads per block
     * @param splits          key splits (decode; 1 = no combine pass)
     * @param workspaceFloats floats of the split workspace (0 without splits)
     */
    record AttentionPlan(boolean decode, int bucket, int gridX, int gridY, int gridZ, int blockThreads, int splits,
            long workspaceFloats) {
    }

    static AttentionPlan attention(int batch, int nq, int heads, int d, int keyLength, int sms) {
        int bucket = headBucket(d);
        if (heads > MAX_GRID_YZ) {
            throw new CogVideoException("attention: " + heads + " heads exceed the grid limit " + MAX_GRID_YZ);
        }
        int threads = ATTN_WARPS * 32;
        if (nq <= DECODE_MAX_ROWS) {
            long z = (long) batch * nq;
            checkZ(z);
            int splits = decodeSplits(batch * nq * heads, keyLength, sms);
            long ws = splits > 1 ? z * heads * splits * (d + 2L) : 0;
            return new AttentionPlan(true, bucket, splits, heads, (int) z, threads, splits, ws);
        }
        int rows = prefillRowsPerBlock(bucket);
        long z = (long) batch * ((nq + rows - 1) / rows);
        checkZ(z);
        return new AttentionPlan(false, bucket, 1, heads, (int) z, threads, 1, 0);
    }

    /**
     * Key splits of a decode launch: enough blocks for about four per multiprocessor, but at least
     * {@link #ATTN_WARPS} key tiles per split so that no warp of a block idles.
     */
    static int decodeSplits(int units, int keyLength, int sms) {
        int tiles = (keyLength + ATTN_TILE - 1) / ATTN_TILE + 1; // +1: text and frame ranges are tiled separately
        int byTiles = Math.max(1, tiles / ATTN_WARPS);
        int wanted = (int) Math.max(1, (4L * Math.max(1, sms) + units - 1) / Math.max(1, units));
        return Math.max(1, Math.min(Math.min(wanted, byTiles), MAX_SPLITS));
    }

    private static void checkZ(long z) {
        if (z > MAX_GRID_YZ) {
            throw new CogVideoException("attention: batch x query tiles = " + z + " exceeds the grid limit "
                    + MAX_GRID_YZ + "; split the batch");
        }
    }
}
