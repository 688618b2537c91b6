package io.cogvideo.fuzz;

import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.checkpoint.SatCheckpoint;
import io.cogvideo.checkpoint.StateDict;
import io.cogvideo.checkpoint.TorchCheckpoint;
import io.cogvideo.checkpoint.TorchCheckpointReader;
import io.cogvideo.generation.ClusterSampler;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.DsrConfig;
import io.cogvideo.tokenizer.SentencePieceModel;
import io.cogvideo.video.VideoReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The project's fuzz suite for the readers of untrusted files (issue #18): structure-aware generators ({@link Gen})
 * for each format, run through jqwik properties, each input checked by {@link FuzzInvariant}: it ends normally or in
 * a {@code CogVideoException} naming the input, never an Error, another exception or a hang.
 *
 * <p>CI mode (default): about a minute for all properties together. Long mode ({@code -Dcogvideo.fuzz.long=true},
 * run by {@code scripts/fuzz-long.sh}): every generated input is also mutated {@code -Dcogvideo.fuzz.mutations}
 * times (default 10), about six minutes on a 2-core machine.
 */
class ReaderFuzzTest {
    private static Path dir;

    @BeforeContainer
    static void createDir() throws IOException {
        dir = Files.createTempDirectory("cogvideo-fuzz");
    }

    @AfterContainer
    static void deleteDir() throws IOException {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        System.out.println("fuzz suite: " + FuzzInvariant.RUNS.get() + " inputs read"
                + (FuzzInvariant.LONG ? " (long mode, " + FuzzInvariant.mutations() + " mutations per input)" : ""));
    }

    @Provide
    Arbitrary<List<Integer>> opcodes() {
        return Arbitraries.integers().between(0, Gen.PICKLE_OPS - 1).list().ofMaxSize(80);
    }

    private static void readCheckpoint(Path file) {
        TorchCheckpoint c = TorchCheckpointReader.read(file);
        try (StateDict sd = c.stateDict("module")) {
            for (String k : sd.keys()) {
                sd.get(k).toFloatArray();
            }
        }
    }

    @Property(tries = 10000)
    void pickleOpcodeStreams(@ForAll("opcodes") List<Integer> ops, @ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] pickle = rnd.nextInt(4) == 0 ? Gen.validPickle(rnd) : Gen.pickle(ops, rnd);
        byte[] zip = Gen.torchZip(pickle, 0, rnd);
        FuzzInvariant.check(dir.resolve("pickle-" + Long.toHexString(seed) + ".pt"), zip, seed,
                ReaderFuzzTest::readCheckpoint);
    }

    @Property(tries = 10000)
    void zipRecords(@ForAll @IntRange(min = 0, max = 8) int defect, @ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] zip = Gen.torchZip(Gen.validPickle(rnd), defect, rnd);
        FuzzInvariant.check(dir.resolve("zip-" + Long.toHexString(seed) + ".pt"), zip, seed,
                ReaderFuzzTest::readCheckpoint);
    }

    @Property(tries = 15000)
    void npyHeaders(@ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        FuzzInvariant.check(dir.resolve("npy-" + Long.toHexString(seed) + ".npy"), Gen.npy(rnd), seed, f -> {
            NpyArray a = NpyArray.read(f);
            switch (rnd.nextInt(4)) {
                case 0 -> a.ints();
                case 1 -> NpyArray.readTokenIds(f, 20000);
                case 2 -> ClusterSampler.readTable(f);
                default -> a.tensor().toFloatArray();
            }
        });
    }

    @Property(tries = 15000)
    void sentencePieceProtobufFields(@ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        FuzzInvariant.check(dir.resolve("sp-" + Long.toHexString(seed) + ".model"), Gen.sentencePiece(rnd), seed,
                f -> {
                    SentencePieceModel m = SentencePieceModel.load(f);
                    try {
                        m.encode("a b\u3000\u00e9 ab  x\u2581");
                    } catch (io.cogvideo.CogVideoException e) {
                        // a corrupt rule met while encoding: named, but the message names the model, not the file
                        throw new io.cogvideo.CogVideoException(f + ": " + e.getMessage(), e);
                    }
                });
    }

    @Property(tries = 8000)
    void pictures(@ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        FuzzInvariant.check(dir.resolve("img-" + Long.toHexString(seed) + ".png"), Gen.picture(rnd), seed, f -> {
            if (rnd.nextBoolean()) {
                VideoReader.readImage(f);
            } else {
                VideoReader.probe(f);
            }
        });
    }

    @Property(tries = 8000)
    void modelConfigAndLatest(@ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Path ckpt = dir.resolve("ckpt-" + Long.toHexString(seed));
        try {
            Files.createDirectories(ckpt.resolve("7"));
            Files.write(ckpt.resolve("7").resolve(SatCheckpoint.STATES_FILE), new byte[0]);
            byte[] latest = switch (rnd.nextInt(5)) {
                case 0 -> "7\0".getBytes(StandardCharsets.ISO_8859_1);
                case 1 -> "../7".getBytes(StandardCharsets.US_ASCII);
                case 2 -> new byte[] {(byte) rnd.nextInt(256), '7'};
                default -> "7\n".getBytes(StandardCharsets.US_ASCII);
            };
            Files.write(ckpt.resolve("latest"), latest);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] config = Gen.config(rnd).getBytes(StandardCharsets.UTF_8);
        FuzzInvariant.check(ckpt.resolve("model_config.json"), config, seed, ckpt.getFileName().toString(), f -> {
            try (SatCheckpoint c = SatCheckpoint.open(f.getParent())) {
                try {
                    if (rnd.nextBoolean()) {
                        CogVideoConfig.fromSatConfig(c.config());
                    } else {
                        DsrConfig.fromSatConfig(c.config());
                    }
                } catch (io.cogvideo.CogVideoException e) {
                    // config errors name the field, not the file; the CLI adds the file
                    throw new io.cogvideo.CogVideoException(f + ": " + e.getMessage(), e);
                }
            }
        });
    }
}
