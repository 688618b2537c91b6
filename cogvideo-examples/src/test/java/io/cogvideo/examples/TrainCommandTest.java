package io.cogvideo.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.training.TrainingProgress;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cogvideo train}: help, argument errors, and the progress display. */
class TrainCommandTest {
    private static final Path TINY = Path.of("../../shared/golden/cogvideo-tiny-a/checkpoint");
    private static final Path ROWS = Path.of("../../shared/golden/train-tiny-a/s1_train_raw_rows.npy");

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

    @Test
    void helpListsTheTrainingOptions() {
        Result r = run("train", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--stage", "--init-from", "--data", "--steps", "--batch", "--lr", "--output",
                "--resume", "--seed", "--clip", "--warmup", "--eval-fraction", "--train-everything");
    }

    @Test
    void needsAStartingPointAndReadableData() {
        Result r = run("train", "--data", tmp.resolve("none.bin").toString(), "-o", tmp.resolve("o").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("error: train: give --init-from DIR").doesNotContain("\tat ");
        Result d = run("train", "--init-from", tmp.toString(), "--data", tmp.resolve("none.bin").toString(), "-o",
                tmp.resolve("o").toString());
        assertThat(d.err()).contains("data file").contains("does not exist");
    }

    @Test
    void rowsOfTheWrongLengthAreRejected() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(TINY), "tiny golden checkpoint absent (" + TINY + ")");
        Path bin = Files.write(tmp.resolve("bad.bin"), new byte[4 * 100]);
        Result r = run("train", "--init-from", TINY.toString(), "--data", bin.toString(), "--start-of-image-id",
                "20090", "-o", tmp.resolve("o").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("not a whole number of 2064-token int32 rows");
    }

    @Test
    void trainsTheTinyGoldenModelAndWritesACheckpoint() {
        Assumptions.assumeTrue(Files.isDirectory(TINY) && Files.isRegularFile(ROWS), "tiny golden data absent");
        Path out = tmp.resolve("o");
        Result r = run("train", "--init-from", TINY.toString(), "--data", ROWS.toString(), "--start-of-image-id",
                "20090", "--steps", "1", "--batch", "1", "--eval-fraction", "0", "-o", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(out.resolve("latest")).isRegularFile();
        assertThat(io.cogvideo.training.Trainer.resolveCheckpoint(out).resolve("model.safetensors")).isRegularFile();
        assertThat(out.resolve("loss.csv")).isRegularFile();
    }

    @Test
    void progressShowsLossTokensPerSecondAndEta() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TrainCommand.ProgressBar bar = new TrainCommand.ProgressBar(new PrintStream(bytes, true,
                StandardCharsets.UTF_8), false);
        for (int s = 1; s <= 10; s++) {
            bar.onStep(new TrainingProgress(s, 10, 1.0 / s, new double[0], 2e-4, 0.5, 1234.0,
                    Duration.ofSeconds(s), Duration.ofSeconds(10 - s), s >= 5 ? 0.75 : Double.NaN));
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("training: 1/10  loss 1.0000  lr 2.00e-04  1234 tok/s  ETA 0:09");
        assertThat(out).contains("10/10  loss 0.1000  eval 0.7500");
    }
}
