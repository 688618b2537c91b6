package io.cogvideo.tokenizer;

import static io.cogvideo.tokenizer.SentencePieceGoldenTest.JSON;
import static io.cogvideo.tokenizer.SentencePieceGoldenTest.dir;
import static io.cogvideo.tokenizer.SentencePieceGoldenTest.ints;
import static io.cogvideo.tokenizer.SentencePieceGoldenTest.rows;
import static io.cogvideo.tokenizer.SentencePieceGoldenTest.strings;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.cogvideo.CogVideoException;
import io.cogvideo.generation.CogVideoPipeline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The original icetk wrapper's behaviour (vectors produced by icetk itself), directory from
 * {@code -Dcogvideo.golden.icetk}: SentencePiece pieces, ids, normalized text, surfaces and offsets, decoding, icetk's
 * tokenize/encode/decode with and without line-break handling, before and after CogVideo's special tokens; getitem,
 * decode_ids and the exact text parts CogVideo builds.
 */
class IcetkGoldenTest {
    private final Path dir = dir("cogvideo.golden.icetk", "icetk-text");

    @TestFactory
    Stream<DynamicTest> vectorFiles() throws IOException {
        JsonNode meta = JSON.readTree(dir.resolve("text_vectors_meta.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = meta.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isObject() || !e.getValue().has("model_file")) {
                continue;
            }
            JsonNode m = e.getValue();
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> check(e.getKey(), m)));
        }
        assertThat(tests).isNotEmpty();
        return tests.stream();
    }

    private void check(String name, JsonNode m) throws IOException {
        Path model = dir.resolve(m.get("model_file").asText());
        IceTokenizer plain = IceTokenizer.load(model, IceTokenizer.ICETK_IMAGE_TOKENS, List.of());
        IceTokenizer cog = IceTokenizer.load(model, IceTokenizer.ICETK_IMAGE_TOKENS, IceTokenizer.COGVIDEO_SPECIALS);
        assertThat(plain.vocabularySize()).isEqualTo(m.get("icetk_num_tokens_plain").asInt());
        assertThat(cog.vocabularySize()).isEqualTo(m.get("icetk_num_tokens_cogvideo").asInt());
        List<JsonNode> rows = rows(dir.resolve(m.get("vectors_file").asText()));
        assertThat(rows).hasSize(m.get("n_vectors").asInt());
        for (JsonNode r : rows) {
            String text = r.get("text").asText();
            String what = name + " row " + r.get("idx").asInt() + " " + JSON.writeValueAsString(text);
            JsonNode sp = r.get("sp");
            SentencePieceModel.Encoding enc = plain.sentencePiece().encode(text);
            assertThat(enc.pieces()).as(what + " pieces").isEqualTo(strings(sp.get("pieces")));
            assertThat(enc.ids()).as(what + " ids").containsExactly(ints(sp.get("ids")));
            // the vectors' "normalized" is the concatenation of the pieces (byte-fallback pieces included)
            assertThat(String.join("", enc.pieces())).as(what + " normalized").isEqualTo(sp.get("normalized").asText());
            assertThat(enc.surfaces()).as(what + " surfaces").isEqualTo(strings(sp.get("surfaces")));
            assertThat(enc.begin()).as(what + " begin").containsExactly(ints(sp.get("begin")));
            assertThat(enc.end()).as(what + " end").containsExactly(ints(sp.get("end")));
            assertThat(plain.sentencePiece().decode(enc.ids())).as(what + " decoded").isEqualTo(sp.get("decoded").asText());
            assertThat(plain.sentencePiece().decodePieces(enc.pieces())).as(what + " decoded from pieces")
                    .isEqualTo(sp.get("decoded_from_pieces").asText());
            checkIcetk(what + " icetk", plain, text, r.get("icetk"));
            checkIcetk(what + " icetk_cogvideo", cog, text, r.get("icetk_cogvideo"));
        }
    }

    private static void checkIcetk(String what, IceTokenizer t, String text, JsonNode g) {
        assertThat(t.tokenize(text)).as(what + " tokenize").isEqualTo(strings(g.get("tokenize")));
        int[] ids = t.encode(text);
        assertThat(ids).as(what + " encode").containsExactly(ints(g.get("encode")));
        assertThat(t.decode(ids)).as(what + " decode").isEqualTo(g.get("decode").asText());
        int[] lb = t.encode(text, false);
        assertThat(lb).as(what + " encode (line breaks)").containsExactly(ints(g.get("encode_linebreak")));
        assertThat(t.decode(lb)).as(what + " decode (line breaks)").isEqualTo(g.get("decode_linebreak").asText());
    }

    private IceTokenizer misc(String variant) {
        Path model = dir.resolve("ice_text_tiny.model");
        return IceTokenizer.load(model, IceTokenizer.ICETK_IMAGE_TOKENS,
                variant.equals("cogvideo") ? IceTokenizer.COGVIDEO_SPECIALS : List.of());
    }

    @Test
    void getitemDecodeIdsAndCogVideoSequences() throws IOException {
        JsonNode x = JSON.readTree(dir.resolve("icetk_misc_vectors_tiny.json").toFile());
        for (JsonNode e : x.get("getitem")) {
            IceTokenizer t = misc(e.get("tokenizer").asText());
            if (e.get("key").isInt()) {
                assertThat(t.token(e.get("key").asInt())).as("icetk[" + e.get("key") + "]")
                        .isEqualTo(e.get("value").asText());
            } else {
                assertThat(t.tokenId(e.get("key").asText())).as("icetk['" + e.get("key").asText() + "']")
                        .isEqualTo(e.get("value").asInt());
            }
        }
        for (JsonNode e : x.get("decode_ids")) {
            IceTokenizer t = misc(e.get("tokenizer").asText());
            assertThat(t.decode(ints(e.get("ids")))).as("decode " + e.get("ids")).isEqualTo(e.get("decoded").asText());
        }
        IceTokenizer cog = misc("cogvideo");
        int soi = cog.startOfImage();
        for (JsonNode s : x.get("cogvideo_sequences")) {
            String raw = s.get("raw_text").asText();
            CogVideoPipeline.TextPlan with = CogVideoPipeline.textPlan(cog, raw, true, 8);
            CogVideoPipeline.TextPlan without = CogVideoPipeline.textPlan(cog, raw, false, 8);
            assertThat(plus(with.firstFrame(), soi)).as(raw + " first frame").containsExactly(ints(s.get("first_frame_text_part")));
            assertThat(with.firstFrame().length).isEqualTo(s.get("first_frame_text_len").asInt());
            assertThat(plus(with.keyFrames(), soi)).as(raw + " stage 1 with guidance")
                    .containsExactly(ints(s.get("stage1_text_part_with_guidance")));
            assertThat(with.keyFrames().length).isEqualTo(s.get("stage1_text_len_with_guidance").asInt());
            assertThat(plus(without.keyFrames(), soi)).as(raw + " stage 1 without guidance")
                    .containsExactly(ints(s.get("stage1_text_part_no_guidance")));
            assertThat(plus(with.guider(), soi)).as(raw + " guider").containsExactly(ints(s.get("stage1_guider_text_part")));
            assertThat(with.stage2()).hasSize(s.get("stage2").size());
            for (int r = 0; r < s.get("stage2").size(); r++) {
                JsonNode st = s.get("stage2").get(r);
                assertThat(plus(with.stage2().get(r), soi)).as(raw + " stage 2 " + st.get("duration_text").asText())
                        .containsExactly(ints(st.get("seq_text_part")));
                assertThat(io.cogvideo.tokenizer.PromptEncoder.pythonFloat(st.get("duration").asDouble()) + "秒")
                        .isEqualTo(st.get("duration_text").asText());
            }
        }
    }

    private static int[] plus(int[] a, int b) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = b;
        return out;
    }

    @Test
    void badInput(@TempDir Path tmp) throws IOException {
        assertThatThrownBy(() -> SentencePieceModel.load(tmp.resolve("missing.model")))
                .isInstanceOf(CogVideoException.class).hasMessageContaining("does not exist");
        Path junk = Files.write(tmp.resolve("junk.model"), new byte[] {1, 2, 3, 4, 5});
        assertThatThrownBy(() -> SentencePieceModel.load(junk)).isInstanceOf(CogVideoException.class)
                .hasMessageContaining("junk.model");
        IceTokenizer t = misc("cogvideo");
        int size = t.vocabularySize();
        assertThatThrownBy(() -> t.decode(new int[] {size})).hasMessageContaining(String.valueOf(size))
                .hasMessageContaining("outside");
        assertThatThrownBy(() -> t.decode(new int[] {5})).hasMessageContaining("text id 5");
        assertThatThrownBy(() -> t.token(-1)).hasMessageContaining("-1");
        assertThat(IntStream.of(t.encode("一只猫")).allMatch(i -> i >= 20000)).isTrue();
    }
}
