package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.checkpoint.NpyArray;
import io.cogvideo.generation.SequenceLayout;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.BackendOptions;
import io.cogvideo.spi.Backends;
import io.cogvideo.spi.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** One uncached forward pass, to check converted weights against the original implementation. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Run one uncached forward pass of a checkpoint over a token sequence and print (or save) the "
                + "logits over the image vocabulary. Use it to check converted weights against the original code.")
final class LogitsCommand implements Callable<Integer> {
    @Mixin
    CogVideoCli.Common common;

    @Option(names = {"-c", "--checkpoint"}, required = true, paramLabel = "DIR",
            description = "CogVideo checkpoint folder (latest + model_config.json + <iter>/mp_rank_00_model_states.pt, "
                    + "or model_config.json + *.safetensors).")
    Path checkpoint;

    @Option(names = "--tokens", required = true, paramLabel = "FILE",
            description = "Token ids: a .npy integer array [n] or [1, n], or a text file of whitespace/comma separated "
                    + "ids. Frame blocks must carry <start_of_image> in their first slot.")
    Path tokens;

    @Option(names = "--text-length", required = true, paramLabel = "N",
            description = "Number of text tokens at the head of the sequence (duration + <n> + prompt).")
    int textLength;

    @Option(names = "--stage", defaultValue = "1", description = "1: stage-1 layout and full causal temporal "
            + "attention; 2: stage-2 layout (blocks at temporal slots 0,2,4,1,3) and window attention. Default: ${DEFAULT-VALUE}.")
    int stage;

    @Option(names = "--window", defaultValue = "10", description = "Stage-2 window size. Default: ${DEFAULT-VALUE}.")
    int window;

    @Option(names = "--boost", defaultValue = "0", description = "Text attention boost (log_text_attention_weights). "
            + "Default: ${DEFAULT-VALUE}.")
    float boost;

    @Option(names = "--image-mode", description = "First-frame mode: temporal channel off (enforce_no_swin).")
    boolean imageMode;

    @Option(names = "--positions", paramLabel = "FILE", description = "Position ids (.npy or text); default: the "
            + "stage's layout.")
    Path positions;

    @Option(names = "--rows", defaultValue = "last", paramLabel = "ROWS",
            description = "Rows to report: 'last', 'all', or comma-separated indexes. Default: ${DEFAULT-VALUE}.")
    String rows;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the logits as float32 .npy [rows, vocab].")
    Path output;

    @Option(names = "--top", defaultValue = "5", description = "Top ids printed per row. Default: ${DEFAULT-VALUE}.")
    int top;

    @Option(names = "--backend", description = "Backend name (cpu, cuda). Default: best available.")
    String backend;

    @Override
    public Integer call() throws IOException {
        if (output != null) {
            io.cogvideo.video.OutputFiles.checkTarget(output); // before loading: no directory, device or read-only folder
        }
        int[] ids = readInts(tokens);
        int n = ids.length;
        if (textLength < 1 || textLength > n) {
            throw new CogVideoException("--text-length must be in [1, " + n + "] (the sequence has " + n
                    + " tokens), got " + textLength);
        }
        if (stage != 1 && stage != 2) {
            throw new CogVideoException("--stage must be 1 or 2, got " + stage);
        }
        try (Backend b = Backends.create(backend, BackendOptions.defaults())) {
            CogVideoModel model = CogVideoModel.load(checkpoint, b);
            int fl = model.config().frameLength();
            int[] pos = positions != null ? readInts(positions)
                    : SequenceLayout.positions(stage, textLength, fl, n);
            if (pos.length != n) {
                throw new CogVideoException("--positions has " + pos.length + " ids for " + n + " tokens");
            }
            int[] rowIdx = parseRows(n);
            SequenceOptions opts = new SequenceOptions(stage, stage == 2 ? window : -1, boost, imageMode, false);
            float[] logits;
            int vocab = model.config().imageVocabSize();
            try (InferenceState s = model.newState(1, textLength, opts); Tensor t = model.prefill(s, new int[][] {ids},
                    pos, rowIdx)) {
                logits = b.toFloats(t);
            }
            for (int r = 0; r < rowIdx.length; r++) {
                System.out.println(describeRow(rowIdx[r], logits, r * vocab, vocab));
            }
            if (output != null) {
                int rowCount = rowIdx.length;
                io.cogvideo.video.OutputFiles.replace(output, "logits .npy",
                        tmp -> NpyArray.writeFloats(tmp, logits, rowCount, vocab));
                System.out.println("wrote " + output + " [" + rowIdx.length + ", " + vocab + "]");
            }
        }
        return 0;
    }

    private String describeRow(int row, float[] l, int off, int vocab) {
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, c) -> Float.compare(l[off + c], l[off + a]));
        double max = l[off + order[0]];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(l[off + i] - max);
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "row %d: logsumexp %.4f, top", row,
                max + Math.log(sum)));
        for (int i = 0; i < Math.min(top, vocab); i++) {
            sb.append(String.format(Locale.ROOT, " %d:%.4f", order[i], l[off + order[i]]));
        }
        return sb.toString();
    }

    private int[] parseRows(int n) {
        if (rows.equals("last")) {
            return new int[] {n - 1};
        }
        if (rows.equals("all")) {
            int[] all = new int[n];
            Arrays.setAll(all, i -> i);
            return all;
        }
        try {
            int[] r = Arrays.stream(rows.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
            for (int i : r) {
                if (i < 0 || i >= n) {
                    throw new CogVideoException("--rows index " + i + " outside [0, " + n + ")");
                }
            }
            return r;
        } catch (NumberFormatException e) {
            throw new CogVideoException("--rows must be 'last', 'all' or comma-separated indexes, got '" + rows + "'");
        }
    }

    /** Largest text token file read (a real sequence has a few thousand ids). */
    static final long MAX_TOKEN_TEXT_BYTES = 16L << 20;

    static int[] readInts(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new CogVideoException("token file " + file + " does not exist");
        }
        if (file.toString().endsWith(".npy")) {
            return NpyArray.read(file).ints();
        }
        long size = Files.size(file);
        if (size > MAX_TOKEN_TEXT_BYTES) {
            throw new CogVideoException("token file " + file + " is " + size + " bytes; a text token file may hold at "
                    + "most " + MAX_TOKEN_TEXT_BYTES + " bytes (use .npy for more)");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString().trim();
        } catch (CharacterCodingException e) {
            throw new CogVideoException("token file " + file + " is not UTF-8 text (" + e + "); give ids as text "
                    + "(e.g. 1 2 3 or [1, 2, 3]) or as a .npy array", e);
        }
        if (text.isEmpty()) {
            throw new CogVideoException(file + " holds no token ids");
        }
        String[] parts = Arrays.stream(text.split("[\\s,\\[\\]]+")).filter(p -> !p.isEmpty()).toArray(String[]::new);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                String shown = parts[i].length() > 40 ? parts[i].substring(0, 40) + "..." : parts[i];
                throw new CogVideoException("token file " + file + ": value " + (i + 1) + " '" + shown + "' is not an "
                        + "integer in [" + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "]");
            }
        }
        return ids;
    }
}
