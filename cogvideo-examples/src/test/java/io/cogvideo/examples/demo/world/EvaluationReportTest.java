package io.cogvideo.examples.demo.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The aggregate report, its files, and the contact sheet. */
class EvaluationReportTest {
    private static final int N = 96;
    private final WorldRenderer renderer = new WorldRenderer();
    private final WorldEvaluator evaluator = new WorldEvaluator();

    @TempDir
    Path tmp;

    private EvaluationReport.Row row(Caption asked, Caption drawn, long seed) {
        float[][] video = renderer.video(WorldClip.random(drawn, seed), 1, N);
        return new EvaluationReport.Row(asked, seed, evaluator.score(video, N, N, asked));
    }

    @Test
    void fractionsCountTheRightVideos() {
        List<EvaluationReport.Row> rows = new ArrayList<>();
        List<Caption> all = Caption.all();
        for (int i = 0; i < 10; i++) {
            rows.add(row(all.get(i), all.get(i), i));
        }
        // One wrong colour, one wrong shape, one going the other way.
        Caption a = new Caption(Colour.BLUE, Shape.SQUARE, Direction.DOWN);
        rows.add(row(a, new Caption(Colour.RED, Shape.SQUARE, Direction.DOWN), 1));
        rows.add(row(a, new Caption(Colour.BLUE, Shape.TRIANGLE, Direction.DOWN), 2));
        rows.add(row(a, new Caption(Colour.BLUE, Shape.SQUARE, Direction.UP), 3));
        EvaluationReport r = new EvaluationReport(rows);
        assertThat(r.colourFraction()).isEqualTo(12 / 13.0);
        assertThat(r.shapeFraction()).isEqualTo(12 / 13.0);
        assertThat(r.directionFraction()).isEqualTo(12 / 13.0);
        assertThat(r.smoothness()).isEqualTo(48 / 52.0); // 13 videos x 4 steps, one video all backwards
        assertThat(r.passedFraction()).isEqualTo(10 / 13.0);
        assertThat(r.accepted()).isTrue();
        EvaluationReport.CaptionSummary sa = r.perCaption().stream().filter(s -> s.caption().equals(a)).findFirst()
                .orElseThrow();
        assertThat(sa.videos()).isEqualTo(3);
        assertThat(sa.colourOk()).isEqualTo(2);
        assertThat(sa.shapeOk()).isEqualTo(2);
        assertThat(sa.directionOk()).isEqualTo(2);
        assertThat(sa.passed()).isZero();
        assertThat(r.perCaption()).hasSize(11);

        rows.add(row(a, new Caption(Colour.RED, Shape.SQUARE, Direction.DOWN), 4));
        assertThat(new EvaluationReport(rows).colourFraction()).isLessThan(0.9);
        assertThat(new EvaluationReport(rows).accepted()).isFalse();

        assertThatThrownBy(() -> new EvaluationReport(List.of())).hasMessageContaining("at least one row");
        VideoScore other = rows.get(0).score();
        assertThatThrownBy(() -> new EvaluationReport.Row(a, 0, other)).hasMessageContaining("holds a score for");
    }

    @Test
    void writesMarkdownAndCsvAtomically() throws IOException {
        List<EvaluationReport.Row> rows = new ArrayList<>();
        for (Caption c : Caption.all().subList(0, 6)) {
            rows.add(row(c, c, 1));
            rows.add(row(c, c, 2));
        }
        EvaluationReport r = new EvaluationReport(rows);
        Path md = tmp.resolve("out/report.md");
        Path csv = tmp.resolve("out/report.csv");
        Files.createDirectories(md.getParent());
        Files.writeString(md, "old");
        r.writeMarkdown(md);
        r.writeCsv(csv);
        String text = Files.readString(md, StandardCharsets.UTF_8);
        assertThat(text).contains("ACCEPTED").contains("| colour | 100.0% | >= 90% | ok |")
                .contains("| smoothness (all steps) | 100.0% | >= 80% | ok |").contains("红色圆形向左移动")
                .contains("red circle left").doesNotContain("old");
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        assertThat(lines).hasSize(13);
        assertThat(lines.get(0)).startsWith("caption,name,seed,");
        assertThat(lines.get(1)).startsWith("红色圆形向左移动,red circle left,1,5,0,red,true,circle,");
        try (Stream<Path> files = Files.list(md.getParent())) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("report.csv", "report.md");
        }
        if (Files.getFileStore(md).supportsFileAttributeView(PosixFileAttributeView.class)) {
            assertThat(Files.getPosixFilePermissions(md)).contains(PosixFilePermission.OTHERS_READ);
        }
    }

    @Test
    void contactSheetGridOfEvenlySpacedFrames() throws IOException {
        assertThat(ContactSheet.columnsFor(33, 5)).containsExactly(0, 8, 16, 24, 32);
        assertThat(ContactSheet.columnsFor(3, 5)).containsExactly(0, 1, 2);
        List<ContactSheet.Entry> entries = new ArrayList<>();
        List<float[][]> videos = new ArrayList<>();
        for (Caption c : Caption.all().subList(10, 13)) {
            float[][] v = renderer.video(WorldClip.random(c, 8), 8, N);
            videos.add(v);
            entries.add(ContactSheet.Entry.of(c.asciiName(), v, N, N));
        }
        Path png = tmp.resolve("sheet.png");
        ContactSheet.write(png, entries, 5);
        BufferedImage img = ImageIO.read(png.toFile());
        int g = ContactSheet.GAP;
        assertThat(img.getWidth()).isEqualTo(g + 5 * (N + g));
        assertThat(img.getHeight()).isEqualTo(g + 3 * (ContactSheet.LABEL_HEIGHT + N + g));
        // Row 1, column 2 shows frame 16 of video 1.
        BufferedImage expected = WorldRenderer.toImage(videos.get(1)[16], N, N);
        int x0 = g + 2 * (N + g);
        int y0 = g + (ContactSheet.LABEL_HEIGHT + N + g) + ContactSheet.LABEL_HEIGHT;
        for (int y = 0; y < N; y += 7) {
            for (int x = 0; x < N; x += 5) {
                assertThat(img.getRGB(x0 + x, y0 + y)).isEqualTo(expected.getRGB(x, y));
            }
        }
        // The label strip has some dark text pixels.
        int dark = 0;
        for (int y = g; y < g + ContactSheet.LABEL_HEIGHT; y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xFF) < 0x40) {
                    dark++;
                }
            }
        }
        assertThat(dark).isGreaterThan(5);
        assertThatThrownBy(() -> ContactSheet.render(List.of(), 5)).hasMessageContaining("at least one row");
        assertThatThrownBy(() -> ContactSheet.render(entries, 0)).hasMessageContaining("columns 0");
    }
}
