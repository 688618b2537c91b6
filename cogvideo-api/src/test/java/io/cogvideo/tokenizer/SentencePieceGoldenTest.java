package io.cogvideo.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every row of the SentencePiece vector files (real SentencePiece library, wrapped as icetk does) reproduced
 * exactly: pieces, ids, icetk ids (+20000), decoded text. Directory from {@code -Dcogvideo.golden.text}.
 */
class SentencePieceGoldenTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path dir(String property, String name) {
        String p = System.getProperty(property);
        if (p != null && !p.isBlank()) {
            return Paths.get(p);
        }
        for (String base : new String[] {"src/test/resources/golden", "cogvideo-api/src/test/resources/golden"}) {
            if (Files.isDirectory(Paths.get(base, name))) {
                return Paths.get(base, name);
            }
        }
        return Paths.get("src/test/resources/golden", name);
    }

    static List<JsonNode> rows(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asText()));
        return out;
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> vectors() throws IOException {
        Path d = dir("cogvideo.golden.text", "text-tokenizer");
        JsonNode manifest = JSON.readTree(d.resolve("vectors_manifest.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = manifest.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode m = e.getValue();
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> {
                IceTokenizer tok = IceTokenizer.load(d.resolve(m.get("model_file").asText()),
                        IceTokenizer.ICETK_IMAGE_TOKENS, IceTokenizer.COGVIDEO_SPECIALS);
                assertThat(tok.textVocabularySize()).isEqualTo(m.get("vocab_size").asInt());
                m.get("icetk_special_ids").fields().forEachRemaining(s -> assertThat(tok.tokenId(s.getKey()))
                        .as(s.getKey()).isEqualTo(s.getValue().asInt()));
                List<JsonNode> rows = rows(d.resolve(m.get("vectors_file").asText()));
                assertThat(rows).hasSize(m.get("rows").asInt());
                for (JsonNode r : rows) {
                    String text = r.get("text").asText();
                    SentencePieceModel.Encoding enc = tok.sentencePiece().encode(text);
                    String what = e.getKey() + " row " + JSON.writeValueAsString(text);
                    assertThat(enc.pieces()).as(what + " pieces").isEqualTo(strings(r.get("pieces")));
                    assertThat(enc.ids()).as(what + " ids").containsExactly(ints(r.get("ids")));
                    assertThat(tok.encode(text)).as(what + " icetk ids").containsExactly(ints(r.get("icetk_ids")));
                    assertThat(tok.sentencePiece().decode(ints(r.get("ids")))).as(what + " decoded")
                            .isEqualTo(r.get("decoded").asText());
                }
            }));
        }
        return tests.stream();
    }
}
