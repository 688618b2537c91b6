package io.cogvideo.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.cogvideo.generation.CogVideoPipeline;
import io.cogvideo.generation.CogVideoPipeline.TextPlan;
import io.cogvideo.tokenizer.IceTokenizer;
import io.cogvideo.tokenizer.PromptEncoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo world's text model, written to a {@code .model} file and loaded as the pipeline loads it (icetk ids
 * offset by 512 image tokens, CogVideo's specials appended): the id layout, no {@code <unk>} in any string the
 * pipeline builds for the 48 captions (and their training variant), decode round trips, and the token budget of
 * the demo layout's 32 text slots.
 */
class WorldTextModelTest {
    private static final int IMAGE_TOKENS = 512;
    private static final int TEXT_SLOTS = 32;
    private static final int FRAME_RATE = 8; // stage-2 rounds at 2.0, 1.0 and 0.5 s

    @TempDir
    static Path dir;
    static WorldTextModel model;
    static IceTokenizer tok;

    @BeforeAll
    static void load() {
        model = WorldTextModel.create();
        tok = model.writeAndLoad(dir.resolve("world_text.model"), IMAGE_TOKENS);
    }

    @Test
    void idLayoutMirrorsIcetk() {
        assertThat(tok.tokenId("<unk>")).isEqualTo(IMAGE_TOKENS + WorldTextModel.UNK_ID).isEqualTo(512);
        assertThat(tok.tokenId("<s>")).isEqualTo(513);
        assertThat(tok.tokenId("</s>")).isEqualTo(514);
        assertThat(tok.tokenId("<pad>")).isEqualTo(IMAGE_TOKENS + WorldTextModel.PAD_ID).isEqualTo(515);
        assertThat(tok.newline()).isEqualTo(IMAGE_TOKENS + WorldTextModel.NEWLINE_ID).isEqualTo(516);
        assertThat(tok.sentencePiece().isControl(WorldTextModel.PAD_ID)).isTrue();
        assertThat(tok.textVocabularySize()).isEqualTo(model.textVocabularySize());
        assertThat(tok.vocabularySize()).isEqualTo(model.vocabularySize(IMAGE_TOKENS));
        assertThat(tok.startOfImage()).isEqualTo(IMAGE_TOKENS + model.pieceCount());
        assertThat(tok.tokenId("<start_of_chinese>")).isEqualTo(IMAGE_TOKENS + model.pieceCount() + 2)
                .isEqualTo(tok.vocabularySize() - 1);
        // the pieces as written
        assertThat(model.pieces().get(5).text()).isEqualTo("\u2581");
        for (String w : WorldTextModel.words()) {
            assertThat(tok.sentencePiece().pieceToId(w)).as(w).isNotEqualTo(WorldTextModel.UNK_ID);
            w.codePoints().forEach(c -> assertThat(tok.sentencePiece().pieceToId(new String(Character.toChars(c))))
                    .isNotEqualTo(WorldTextModel.UNK_ID));
        }
        System.out.printf("world text model: %d pieces, text vocabulary %d, vocabulary %d with %d image tokens%n",
                model.pieceCount(), model.textVocabularySize(), tok.vocabularySize(), IMAGE_TOKENS);
    }

    @Test
    void captionsEncodeAsOneTokenPerWord() {
        assertThat(WorldTextModel.captions()).hasSize(48).doesNotHaveDuplicates();
        assertThat(WorldTextModel.trainingCaptions()).hasSize(48).allMatch(c -> c.startsWith("一个"));
        assertThat(tok.tokenize("红色圆形向左移动")).containsExactly("\u2581", "红色", "圆形", "向左移动");
        assertThat(tok.tokenize("一个黄色正方形向下移动 视频"))
                .containsExactly("\u2581", "一个", "黄色", "正方形", "向下移动", "\u2581", "视频");
        assertThat(tok.tokenize("0.5秒")).containsExactly("\u2581", "0", ".", "5", "秒");
        // characters alone still encode (character level under the words), and foreign ones are unknown
        assertThat(tok.tokenize("色红")).containsExactly("\u2581", "色", "红");
        assertThat(tok.encode("紫色")).contains(IMAGE_TOKENS + WorldTextModel.UNK_ID);
    }

    @Test
    void everyPipelineStringEncodesWithoutUnknownAndRoundTrips() {
        List<String> all = new ArrayList<>(WorldTextModel.captions());
        all.addAll(WorldTextModel.trainingCaptions());
        int longest = 0;
        String longestText = null;
        for (String caption : all) {
            for (boolean guidance : new boolean[] {true, false}) {
                TextPlan plan = CogVideoPipeline.textPlan(tok, caption, guidance, FRAME_RATE);
                assertThat(plan.stage2()).hasSize(3);
                List<int[]> texts = new ArrayList<>(List.of(plan.prompt(), plan.firstFrame(), plan.keyFrames(),
                        plan.guider()));
                texts.addAll(plan.stage2());
                for (int[] ids : texts) {
                    assertKnownText(ids, caption);
                    assertThat(ids.length).as(caption).isLessThanOrEqualTo(TEXT_SLOTS);
                }
                assertThat(tok.decode(plan.prompt())).isEqualTo(caption);
                assertThat(tok.decode(plan.firstFrame())).isEqualTo(caption + " 高清摄影");
                // the caption, encoded on its own after <n>, keeps its dummy-prefix space (as icetk)
                assertThat(tok.decode(plan.keyFrames())).isEqualTo("4.0秒\n " + caption + (guidance ? " 视频" : ""));
                assertThat(tok.decode(plan.guider())).isEqualTo("4.0秒\n 视频");
                String[] s2 = {"2.0秒", "1.0秒", "0.5秒"};
                for (int r = 0; r < 3; r++) {
                    assertThat(tok.decode(plan.stage2().get(r))).isEqualTo(s2[r] + "\n " + caption);
                }
                if (plan.keyFrames().length > longest) {
                    longest = plan.keyFrames().length;
                    longestText = tok.decode(plan.keyFrames());
                }
            }
            for (String s : List.of(caption, caption + " 高清摄影", caption + " 视频", "视频", "4.0秒", "2.0秒",
                    "1.0秒", "0.5秒")) {
                int[] ids = tok.encode(s);
                assertKnownText(ids, s);
                assertThat(tok.decode(ids)).isEqualTo(s);
            }
        }
        for (double d : new double[] {4.0, 2.0, 1.0, 0.5}) {
            assertThat(tok.decode(tok.duration(d))).isEqualTo(PromptEncoder.pythonFloat(d) + "秒");
        }
        // the longest stage-1 text: "4.0秒" <n> "一个{三字形状}{方向} 视频"
        assertThat(longest).isEqualTo(13).isLessThanOrEqualTo(TEXT_SLOTS);
        System.out.printf("longest stage-1 text: %d tokens of %d slots: %s%n", longest, TEXT_SLOTS,
                longestText.replace("\n", "<n>"));
    }

    private static void assertKnownText(int[] ids, String what) {
        int unk = IMAGE_TOKENS + WorldTextModel.UNK_ID;
        assertThat(ids).as(what).isNotEmpty().doesNotContain(unk);
        assertThat(IntStream.of(ids).allMatch(i -> i >= IMAGE_TOKENS && i < tok.startOfImage()))
                .as(what + ": " + Arrays.toString(ids)).isTrue();
    }
}
