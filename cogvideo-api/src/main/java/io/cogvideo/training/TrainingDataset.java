package io.cogvideo.training;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.NpyArray;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * An indexed set of training examples. {@code example(i, seed)} must be a pure function of its arguments: the seed
 * carries any per-epoch randomness (which clip of a video, see {@link ClipSampler}); fixed datasets ignore it. This
 * is what makes training order, held-out split and resume exact.
 */
public interface TrainingDataset {

    /** Number of examples, {@code >= 1}. */
    int size();

    /** Example {@code index} under {@code seed}. */
    TrainingExample example(int index, long seed);

    /** Fixed examples (the list is copied). */
    static TrainingDataset of(List<TrainingExample> examples) {
        List<TrainingExample> copy = List.copyOf(examples);
        if (copy.isEmpty()) {
            throw new CogVideoException("training dataset: no examples");
        }
        return new TrainingDataset() {
            @Override
            public int size() {
                return copy.size();
            }

            @Override
            public TrainingExample example(int index, long seed) {
                return copy.get(java.util.Objects.checkIndex(index, copy.size()));
            }
        };
    }

    /**
     * Videos through a {@link ClipSampler}: each call samples a clip with the given seed. Videos that hold no candidate
     * duration are left out; {@code skipped} lists their indices in {@code samples}.
     */
    static TrainingDataset ofSamples(List<TrainingSample> samples, ClipSampler sampler, int stage,
            List<Integer> skipped) {
        List<TrainingSample> usable = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            if (sampler.fittingDurations(samples.get(i)).isEmpty()) {
                skipped.add(i);
            } else {
                usable.add(samples.get(i));
            }
        }
        if (usable.isEmpty()) {
            throw new CogVideoException("training dataset: none of the " + samples.size() + " videos is long enough for"
                    + " any duration of " + sampler.durations() + " s at " + sampler.layout().frameCount() + " frames");
        }
        sampler.layout().lossFrames(stage);
        return new TrainingDataset() {
            @Override
            public int size() {
                return usable.size();
            }

            @Override
            public TrainingExample example(int index, long seed) {
                TrainingSample s = usable.get(java.util.Objects.checkIndex(index, usable.size()));
                return sampler.example(s, stage, seed).orElseThrow();
            }
        };
    }

    /**
     * The original's binary training data: rows of {@code layout.sequenceLength()} tokens (text slots then frames),
     * either a raw little-endian int32 file ({@code .bin}, SwissArmyTransformer's {@code BinaryDataset} with
     * {@code length_per_sample = 2064}) or a 2-D integer {@code .npy} array {@code [rows, L]}. {@code .bin} files are
     * memory-mapped and read row by row.
     */
    static TrainingDataset rawRows(Path file, TrainingLayout layout, int stage) {
        layout.lossFrames(stage);
        int len = layout.sequenceLength();
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        if (name.endsWith(".npy")) {
            NpyArray a = NpyArray.read(file);
            if (a.shape().length != 2 || a.shape()[1] != len || a.shape()[0] < 1) {
                throw new CogVideoException(file + ": expected a [rows, " + len + "] integer array, got shape "
                        + java.util.Arrays.toString(a.shape()));
            }
            int[] all = a.ints();
            List<TrainingExample> out = new ArrayList<>();
            for (int r = 0; r < a.shape()[0]; r++) {
                out.add(layout.fromRawRow(java.util.Arrays.copyOfRange(all, r * len, (r + 1) * len), stage));
            }
            return of(out);
        }
        io.cogvideo.checkpoint.InputFiles.requireRegularFile(file, "training data"); // no FIFO, device, folder
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long rowBytes = 4L * len;
            if (size == 0 || size % rowBytes != 0) {
                throw new CogVideoException(file + ": " + size + " bytes is not a whole number of " + len
                        + "-token int32 rows (" + rowBytes + " bytes each)");
            }
            if (size / rowBytes > Integer.MAX_VALUE || size > Integer.MAX_VALUE) {
                throw new CogVideoException(file + ": " + size + " bytes; files above 2 GiB are not supported yet"
                        + " (split the data)");
            }
            ByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            IntBuffer ints = map.asIntBuffer();
            int rows = (int) (size / rowBytes);
            return new TrainingDataset() {
                @Override
                public int size() {
                    return rows;
                }

                @Override
                public TrainingExample example(int index, long seed) {
                    java.util.Objects.checkIndex(index, rows);
                    int[] row = new int[len];
                    ints.duplicate().position(index * len).get(row);
                    return layout.fromRawRow(row, stage);
                }
            };
        } catch (IOException e) {
            throw new CogVideoException("cannot read training data " + file + ": " + e.getMessage(), e);
        }
    }

    /** Whether a data file exists and is readable (for early CLI checks). */
    static boolean readable(Path file) {
        return Files.isRegularFile(file) && Files.isReadable(file);
    }
}
