package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.spi.BackendOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's part of issue #18: hostile or careless options and output paths fail at once with one named error, and
 * never cost a file of the user's. Every case here failed (or lost a file, or ran for seconds first) before.
 */
class CliHostileInputTest {
    @TempDir
    Path tmp;

    private static final String PROMPT = "红色圆形向右移动";

    private static CliErrorsTest.Result run(String... args) {
        return CliErrorsTest.run(args);
    }

    /** One error line naming every fragment, a non-zero exit, and fast (no model work before it). */
    private static void refusedFast(long startNanos, CliErrorsTest.Result r, String... fragments) {
        assertThat(r.code()).as(r.err()).isNotZero();
        String err = r.err().strip();
        assertThat(err.lines().count()).as("one line: " + err).isEqualTo(1);
        assertThat(err).startsWith("error: ").doesNotContain("\tat ");
        for (String f : fragments) {
            assertThat(err).contains(f);
        }
        assertThat((System.nanoTime() - startNanos) / 1e9).as("seconds before the error").isLessThan(5);
    }

    private void refused(String[] args, String... fragments) {
        long t = System.nanoTime();
        refusedFast(t, run(args), fragments);
    }

    @Test
    void aPngFolderHoldingTheUsersFilesIsRefusedAndTheFilesKept() throws Exception {
        // the reported data loss: generate -o out/photos.png deleted the user's own out/photos/0005.png
        Path photos = Files.createDirectories(tmp.resolve("out/photos"));
        Path users = Files.writeString(photos.resolve("0005.png"), "the user's own picture");
        Path mine = Files.writeString(photos.resolve("holiday.jpg"), "another of the user's files");
        refused(new String[] {"generate", PROMPT, "-r", "1", "-o", tmp.resolve("out/photos.png").toString()},
                photos.toString(), "already holds 2 file(s)", "0005.png", "--overwrite");
        assertThat(Files.readString(users)).isEqualTo("the user's own picture");
        assertThat(Files.readString(mine)).isEqualTo("another of the user's files");
        try (Stream<Path> s = Files.list(photos)) {
            assertThat(s.count()).isEqualTo(2);
        }
        // a second sample's folder is checked too, before any work
        Path second = Files.createDirectories(tmp.resolve("out/clip-1"));
        Files.writeString(second.resolve("notes.txt"), "x");
        refused(new String[] {"generate", PROMPT, "-n", "2", "-o", tmp.resolve("out/clip").toString()},
                second.toString(), "already holds 1 file(s)");
    }

    @Test
    void overwriteReplacesOnlyTheFramesOfThisRun() throws Exception {
        Path photos = Files.createDirectories(tmp.resolve("out/photos"));
        Path users = Files.writeString(photos.resolve("0005.png"), "the user's own picture");
        Files.writeString(photos.resolve("0002.png"), "replaced: the user asked for --overwrite");
        CliErrorsTest.Result r = run("generate", PROMPT, "-r", "1", "--seed", "3", "--threads", "2", "--overwrite",
                "-o", tmp.resolve("out/photos.png").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(Files.readString(users)).isEqualTo("the user's own picture");
        for (int i = 0; i < 5; i++) {
            assertThat(javax.imageio.ImageIO.read(photos.resolve(String.format("%04d.png", i)).toFile()))
                    .as("frame %d", i).isNotNull();
        }
        try (Stream<Path> s = Files.list(photos)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("0000.png",
                    "0001.png", "0002.png", "0003.png", "0004.png", "0005.png", "contact_sheet.png");
        }
    }

    @Test
    void outputsThatCannotBeFilesFailBeforeAnyWork() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("video.gif"));
        refused(new String[] {"generate", PROMPT, "-o", dir.toString()}, dir.toString(), "is a directory");
        Path device = Path.of("/dev/null");
        Assumptions.assumeTrue(Files.exists(device) && !Files.isRegularFile(device));
        Path link = Files.createSymbolicLink(tmp.resolve("sink.mp4"), device);
        refused(new String[] {"generate", PROMPT, "-o", link.toString()}, link.toString(), "not a regular file");
        refused(new String[] {"interpolate", tmp.resolve("in.gif").toString(), PROMPT, "-o", link.toString()},
                link.toString(), "not a regular file");
        Path a = tmp.resolve("a.gif");
        refused(new String[] {"generate", PROMPT, "-o", a.toString(), "--also", a.toString()}, "given twice");
        refused(new String[] {"generate", PROMPT, "-o", a.toString(), "--overwrite"}, "--overwrite",
                "PNG frame folders only");
    }

    @Test
    void optionsThatConflictOrDoNothingAreErrors() {
        String out = tmp.resolve("a.gif").toString();
        Path some = tmp.resolve("ckpt");
        refused(new String[] {"generate", PROMPT, "--sr-checkpoint", some.toString(), "-o", out},
                "--sr-checkpoint " + some, "only with --checkpoint", "embedded demo model");
        refused(new String[] {"generate", PROMPT, "--stage2-checkpoint", some.toString(), "-o", out},
                "--stage2-checkpoint " + some, "only with --checkpoint");
        refused(new String[] {"generate", PROMPT, "--text-tokenizer", some.toString(), "-o", out},
                "--text-tokenizer " + some, "only with --checkpoint");
        refused(new String[] {"interpolate", tmp.resolve("in.gif").toString(), PROMPT, "--sr-checkpoint",
            some.toString(), "-o", out}, "--sr-checkpoint", "only with --checkpoint");
        refused(new String[] {"generate", PROMPT, "--no-super-resolution", "-o", out}, "--no-super-resolution",
                "does nothing without --sr-checkpoint");
        refused(new String[] {"generate", PROMPT, "--no-guidance", "--guidance-alpha", "5", "-o", out},
                "--guidance-alpha 5 does nothing with --no-guidance");
        refused(new String[] {"tokenize", "一只猫", "--decode", "1,2"}, "not both");
    }

    @Test
    void limitsAreCheckedUpFrontAndQuoteTheValueAsGiven() {
        String out = tmp.resolve("a.gif").toString();
        refused(new String[] {"generate", PROMPT, "--samples", "1000000", "-o", out},
                "--samples 1000000: samples must be in [1, 1024], got 1000000");
        refused(new String[] {"generate", PROMPT, "--threads", "100000", "-o", out},
                "--threads must be in [0, " + BackendOptions.maxThreads() + "]", "got 100000");
        refused(new String[] {"train", "--threads", "100000", "--data", "x.bin", "-o", out}, "--threads", "100000");
        // 4.9e-324 used to pass the check and underflow to 0 later ("temperature must be > 0, got 0.0")
        refused(new String[] {"generate", PROMPT, "--temperature", "4.9e-324", "-o", out},
                "--temperature 4.9e-324: temperature must be > 0, in [1.0E-4, 10000.0], got 4.9E-324");
        refused(new String[] {"tokenize", "一只猫", "--image-tokens", "2147483647"},
                "--image-tokens must be in [0, 16777216]", "got 2147483647");
        refused(new String[] {"tokenize", "一只猫", "--image-tokens", "-1"}, "--image-tokens", "got -1");
    }

    @Test
    void theSmallestSeedIsAValueNotAnOptionCluster() {
        // -9223372036854775808 was taken for a cluster of short options; an invalid frame rate shows it was parsed
        for (String option : new String[] {"--seed", "-s"}) {
            CliErrorsTest.Result r = run("generate", PROMPT, option, "-9223372036854775808", "--frame-rate", "3",
                    "-o", tmp.resolve("a.gif").toString());
            assertThat(r.err()).as(option).contains("1, 2, 4, 8").contains("got 3").doesNotContainIgnoringCase(
                    "unknown option").doesNotContain("Invalid value");
        }
        for (String[] args : new String[][] {
            {"generate", "--seed", "-9223372036854775808", PROMPT, "--frame-rate", "3"},
            {"generate", PROMPT, "--seed=-9223372036854775808", "--frame-rate", "3"},
            {"generate", PROMPT, "-s-9223372036854775808", "--frame-rate", "3"}}) {
            CliErrorsTest.Result r = run(args);
            assertThat(r.err()).as(String.join(" ", args)).contains("got 3").doesNotContainIgnoringCase(
                    "unknown option");
        }
        CliErrorsTest.Result i = run("interpolate", tmp.resolve("none.gif").toString(), PROMPT, "--seed",
                "-9223372036854775808", "-o", tmp.resolve("o.gif").toString());
        assertThat(i.err()).contains("none.gif").doesNotContainIgnoringCase("unknown option");
        CliErrorsTest.Result t = run("train", "--seed", "-9223372036854775808", "--data",
                tmp.resolve("none.bin").toString(), "-o", tmp.resolve("o").toString());
        assertThat(t.err()).contains("--init-from").doesNotContainIgnoringCase("unknown option");
    }

    @Test
    void topKAsLargeAsAnIntDoesNotOverflow() {
        // "topK must be >= 0 (0 = off), got -50" before: 50 * topK overflowed inside the sampler's check
        CliErrorsTest.Result r = run("generate", PROMPT, "--top-k", "2147483647", "-r", "1", "--threads", "2", "-o",
                tmp.resolve("a.npy").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("--top-k 2147483647: topKClusters must be in [1, ").contains("got 2147483647")
                .doesNotContain("-50");
        assertThat(tmp.resolve("a.npy")).doesNotExist();
    }

    @Test
    void binaryAndMalformedTokenTextFilesNameTheFile() throws Exception {
        Path ckpt = Files.createDirectories(tmp.resolve("ckpt"));
        Path binary = Files.write(tmp.resolve("tokens.txt"), new byte[] {1, 2, (byte) 0xff, (byte) 0xfe, 0, 7});
        refused(new String[] {"logits", "--checkpoint", ckpt.toString(), "--tokens", binary.toString(),
            "--text-length", "1"}, binary.toString(), "is not UTF-8 text");
        Path huge = Files.writeString(tmp.resolve("huge.txt"), "1 2 99999999999 4", StandardCharsets.UTF_8);
        refused(new String[] {"logits", "--checkpoint", ckpt.toString(), "--tokens", huge.toString(),
            "--text-length", "1"}, huge.toString(), "value 3 '99999999999' is not an integer");
        Path dir = Files.createDirectories(tmp.resolve("logits.npy"));
        refused(new String[] {"logits", "--checkpoint", ckpt.toString(), "--tokens", huge.toString(),
            "--text-length", "1", "-o", dir.toString()}, dir.toString(), "is a directory");
    }
}
