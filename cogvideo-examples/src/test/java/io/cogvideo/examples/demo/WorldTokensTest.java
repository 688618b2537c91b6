package io.cogvideo.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.examples.demo.world.Caption;
import io.cogvideo.training.TrainingSample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorldTokensTest {
    @TempDir
    Path tmp;

    private static WorldTokens sample() {
        List<Caption> caps = List.of(Caption.all().get(5), Caption.all().get(47));
        int[][][] tok = new int[2][3][4];
        for (int v = 0; v < 2; v++) {
            for (int f = 0; f < 3; f++) {
                for (int i = 0; i < 4; i++) {
                    tok[v][f][i] = (v * 100 + f * 10 + i) * 37 % 512;
                }
            }
        }
        return new WorldTokens(caps, tok);
    }

    @Test
    void writeThenReadGivesTheSameVideosAndSamples() {
        Path f = tmp.resolve("t.cvwt");
        sample().write(f);
        WorldTokens back = WorldTokens.read(f);
        assertThat(back.captions()).isEqualTo(sample().captions());
        assertThat(Arrays.deepEquals(back.tokens(), sample().tokens())).isTrue();
        List<TrainingSample> s = back.samples();
        assertThat(s.get(1).caption()).isEqualTo(Caption.all().get(47).text());
        assertThat(s.get(1).frameRate()).isEqualTo(WorldTokens.FRAME_RATE);
        assertThat(s.get(1).frameTokens(2)).containsExactly(sample().tokens()[1][2]);
        assertThat(tmp.toFile().list()).containsExactly("t.cvwt"); // no temporary file left
    }

    @Test
    void truncatedOrForeignFilesFailNamingTheFile() throws Exception {
        Path f = tmp.resolve("t.cvwt");
        sample().write(f);
        byte[] b = Files.readAllBytes(f);
        Path cut = Files.write(tmp.resolve("cut.cvwt"), Arrays.copyOf(b, b.length - 3));
        assertThatThrownBy(() -> WorldTokens.read(cut)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("cut.cvwt").hasMessageContaining("do not match");
        Path foreign = Files.write(tmp.resolve("x.cvwt"), "not a token file at all".getBytes());
        assertThatThrownBy(() -> WorldTokens.read(foreign)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("x.cvwt").hasMessageContaining("CVWT");
        byte[] badCaption = b.clone();
        badCaption[20] = 0x7f; // caption index of the first video
        Path bad = Files.write(tmp.resolve("bad.cvwt"), badCaption);
        assertThatThrownBy(() -> WorldTokens.read(bad)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("caption index");
    }
}
