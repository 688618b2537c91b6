package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CLI fails with one line and a non-zero exit code on bad input, before any model work. */
class CliErrorsTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = CogVideoCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    private static void oneLineError(Result r, String... fragments) {
        assertThat(r.code()).isNotZero();
        String err = r.err().strip();
        assertThat(err.lines().count()).as("one line, no stack trace: " + err).isEqualTo(1);
        assertThat(err).startsWith("error: ").doesNotContain("\tat ");
        for (String f : fragments) {
            assertThat(err).contains(f);
        }
    }

    @Test
    void unknownBackend() {
        oneLineError(run("generate", "一只猫", "--backend", "tpu", "-o", tmp.resolve("a.gif").toString()),
                "unknown backend 'tpu'");
    }

    @Test
    void missingCheckpointFolder() {
        oneLineError(run("generate", "一只猫", "--checkpoint", tmp.resolve("nope").toString(), "-o",
                tmp.resolve("a.gif").toString()), "does not exist");
    }

    @Test
    void pictureOutputWithoutImageTokenizerFailsBeforeLoading() throws Exception {
        Path ckpt = Files.createDirectories(tmp.resolve("ckpt")); // empty: nothing may be read from it
        oneLineError(run("generate", "一只猫", "--checkpoint", ckpt.toString(), "--text-tokenizer",
                tmp.resolve("ice_text.model").toString(), "-o", tmp.resolve("a.gif").toString()), "needs pixels",
                "--image-tokenizer", ".npy");
    }

    @Test
    void unsupportedExtension() {
        oneLineError(run("generate", "一只猫", "-o", tmp.resolve("a.avi").toString()), ".avi");
    }

    @Test
    void unwritableOutputPath() throws Exception {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        // a regular file where a folder is needed cannot be created by anyone, root included
        oneLineError(run("generate", "一只猫", "-o", file.resolve("sub/a.gif").toString()), "output folder");
    }

    @Test
    void invalidFrameRate() {
        oneLineError(run("generate", "一只猫", "--frame-rate", "3", "-o", tmp.resolve("a.gif").toString()),
                "1, 2, 4, 8", "got 3");
    }

    @Test
    void verboseShowsTheStackTrace() {
        Result r = run("generate", "一只猫", "--frame-rate", "3", "--verbose", "-o", tmp.resolve("a.gif").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("\tat ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"generate", "interpolate", "logits", "info", "bench", "tokenize"})
    void helpOfEveryCommand(String command) {
        Result r = run(command, "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage: cogvideo " + command);
    }

    @Test
    void infoListsBackendsWithReasons() {
        StringWriter sw = new StringWriter();
        java.io.PrintStream old = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertThat(run("info").code()).isZero();
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(out).contains("cpu (rank 10): available");
        assertThat(out).contains("Op packs:").contains("cpu: FusedAttention yes, LocalAttention yes, VqVaeOps yes");
        assertThat(sw.toString()).isEmpty();
    }
}
