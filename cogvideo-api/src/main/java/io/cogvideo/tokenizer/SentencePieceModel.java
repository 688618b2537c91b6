package io.cogvideo.tokenizer;

import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cogvideo.CogVideoException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * A SentencePiece model in pure Java, encoding and decoding exactly as the SentencePiece library does for unigram
 * and BPE models: the model's normalizer (precompiled character map, whitespace rules), user-defined symbols,
 * unknown characters (merged runs) or byte fallback ({@code <0xXX>} pieces), and the alignment of every piece to the
 * original text. The {@code .model} file (a {@code sentencepiece.ModelProto}) is parsed with protobuf-java.
 * Immutable and thread-safe.
 */
public final class SentencePieceModel {

    private final String[] pieces;
    private final float[] scores;
    private final int[] types;
    private final int modelType;
    private final boolean byteFallback;
    private final int unkId;
    private final String unkSurface;
    private final boolean treatWhitespaceAsSuffix;
    private final Map<String, Integer> normalPieces = new HashMap<>();
    private final Map<String, Integer> reservedPieces = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final PrefixMatcher trie = new PrefixMatcher();
    private final PrefixMatcher userDefined = new PrefixMatcher();
    private final Normalizer normalizer;
    private final float minScore;
    private final float maxScore;
    private final byte[] charsmap;
    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;

    /** One encoded text: pieces, ids, the normalized text, and each piece's surface and code-point offsets. */
    public record Encoding(List<String> pieces, int[] ids, String normalized, List<String> surfaces, int[] begin,
            int[] end) {
    }

    private SentencePieceModel(String[] pieces, float[] scores, int[] types, int modelType, boolean byteFallback,
            int unkId, String unkSurface, boolean treatWhitespaceAsSuffix, byte[] charsmap, boolean addDummyPrefix,
            boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
        this.pieces = pieces;
        this.scores = scores;
        this.types = types;
        this.modelType = modelType;
        this.byteFallback = byteFallback;
        this.unkSurface = unkSurface;
        this.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
        this.charsmap = charsmap;
        this.addDummyPrefix = addDummyPrefix;
        this.removeExtraWhitespaces = removeExtraWhitespaces;
        this.escapeWhitespaces = escapeWhitespaces;
        if (modelType != SentencePieceProto.UNIGRAM && modelType != SentencePieceProto.BPE) {
            throw new CogVideoException("SentencePiece model type " + modelType + " is not supported (unigram = 1, "
                    + "bpe = 2)");
        }
        Arrays.fill(byteIds, -1);
        int unk = -1;
        float min = Float.MAX_VALUE;
        float max = Float.MIN_VALUE;
        for (int i = 0; i < pieces.length; i++) {
            int t = types[i];
            if (pieces[i].isEmpty()) {
                throw new CogVideoException("SentencePiece model: piece " + i + " is empty");
            }
            boolean normal = t == SentencePieceProto.NORMAL || t == SentencePieceProto.USER_DEFINED
                    || t == SentencePieceProto.UNUSED;
            Map<String, Integer> target = normal ? normalPieces : reservedPieces;
            if (target.putIfAbsent(pieces[i], i) != null) {
                throw new CogVideoException("SentencePiece model: piece '" + pieces[i] + "' is defined twice");
            }
            if (normal) {
                trie.add(pieces[i], i);
            }
            if (t == SentencePieceProto.USER_DEFINED) {
                userDefined.add(pieces[i], i);
            }
            if (t == SentencePieceProto.UNKNOWN) {
                unk = i;
            }
            if (t == SentencePieceProto.BYTE) {
                int b = parseByte(pieces[i]);
                if (b < 0) {
                    throw new CogVideoException("SentencePiece model: byte piece '" + pieces[i] + "' is malformed");
                }
                byteIds[b] = i;
            }
            if (t == SentencePieceProto.NORMAL) {
                min = Math.min(min, scores[i]);
                max = Math.max(max, scores[i]);
            }
        }
        if (unk < 0) {
            throw new CogVideoException("SentencePiece model has no unknown piece");
        }
        this.unkId = unk;
        this.minScore = min;
        this.maxScore = max;
        this.normalizer = new Normalizer(charsmap, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces,
                treatWhitespaceAsSuffix, userDefined);
    }

    private static int parseByte(String p) {
        if (p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")) {
            try {
                return Integer.parseInt(p.substring(3, 5), 16);
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        return -1;
    }

    /** Largest {@code .model} file read (icetk's text model is about 2.7 MB). */
    static final long MAX_MODEL_BYTES = 256L << 20;

    /**
     * Reads a {@code .model} file: a regular file of at most 256 MiB.
     *
     * @throws CogVideoException naming the file if it is missing, not a regular file, too large or not a valid
     *                           model (including a corrupt precompiled character map)
     */
    public static SentencePieceModel load(Path file) {
        byte[] bytes = io.cogvideo.checkpoint.InputFiles.readBounded(file, "SentencePiece model", MAX_MODEL_BYTES,
                null);
        try {
            return parse(bytes);
        } catch (CogVideoException e) {
            throw new CogVideoException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses {@code .model} bytes. */
    public static SentencePieceModel parse(byte[] bytes) {
        DynamicMessage m;
        try {
            m = DynamicMessage.parseFrom(SentencePieceProto.MODEL, bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new CogVideoException("not a SentencePiece model (protobuf parse failed: " + e.getMessage() + ")", e);
        }
        var fPieces = SentencePieceProto.MODEL.findFieldByName("pieces");
        int n = m.getRepeatedFieldCount(fPieces);
        if (n == 0) {
            throw new CogVideoException("not a SentencePiece model: it has no pieces");
        }
        String[] pieces = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        var fp = SentencePieceProto.PIECE.findFieldByName("piece");
        var fs = SentencePieceProto.PIECE.findFieldByName("score");
        var ft = SentencePieceProto.PIECE.findFieldByName("type");
        for (int i = 0; i < n; i++) {
            DynamicMessage p = (DynamicMessage) m.getRepeatedField(fPieces, i);
            pieces[i] = (String) p.getField(fp);
            scores[i] = (Float) p.getField(fs);
            types[i] = (Integer) p.getField(ft);
        }
        DynamicMessage tr = (DynamicMessage) m.getField(SentencePieceProto.MODEL.findFieldByName("trainer_spec"));
        DynamicMessage ns = (DynamicMessage) m.getField(SentencePieceProto.MODEL.findFieldByName("normalizer_spec"));
        return new SentencePieceModel(pieces, scores, types,
                (Integer) tr.getField(SentencePieceProto.TRAINER.findFieldByName("model_type")),
                (Boolean) tr.getField(SentencePieceProto.TRAINER.findFieldByName("byte_fallback")),
                (Integer) tr.getField(SentencePieceProto.TRAINER.findFieldByName("unk_id")),
                (String) tr.getField(SentencePieceProto.TRAINER.findFieldByName("unk_surface")),
                (Boolean) tr.getField(SentencePieceProto.TRAINER.findFieldByName("treat_whitespace_as_suffix")),
                ((com.google.protobuf.ByteString) ns.getField(SentencePieceProto.NORMALIZER.findFieldByName(
                        "precompiled_charsmap"))).toByteArray(),
                (Boolean) ns.getField(SentencePieceProto.NORMALIZER.findFieldByName("add_dummy_prefix")),
                (Boolean) ns.getField(SentencePieceProto.NORMALIZER.findFieldByName("remove_extra_whitespaces")),
                (Boolean) ns.getField(SentencePieceProto.NORMALIZER.findFieldByName("escape_whitespaces")));
    }

    /**
     * A model with extra pieces appended (type NORMAL, score 0), as icetk's {@code add_special_tokens} does to the
     * proto before reloading it.
     */
    public SentencePieceModel withAppendedPieces(List<String> extra) {
        String[] p = Arrays.copyOf(pieces, pieces.length + extra.size());
        float[] s = Arrays.copyOf(scores, scores.length + extra.size());
        int[] t = Arrays.copyOf(types, types.length + extra.size());
        for (int i = 0; i < extra.size(); i++) {
            p[pieces.length + i] = extra.get(i);
            t[pieces.length + i] = SentencePieceProto.NORMAL;
        }
        return new SentencePieceModel(p, s, t, modelType, byteFallback, unkId, unkSurface, treatWhitespaceAsSuffix,
                charsmap, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces);
    }

    /** Number of pieces. */
    public int size() {
        return pieces.length;
    }

    /** The piece of an id. */
    public String idToPiece(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new CogVideoException("piece id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
        return pieces[id];
    }

    /** The id of a piece, or the unknown id. */
    public int pieceToId(String piece) {
        Integer id = reservedPieces.get(piece);
        if (id == null) {
            id = normalPieces.get(piece);
        }
        return id == null ? unkId : id;
    }

    public int unknownId() {
        return unkId;
    }

    public boolean isControl(int id) {
        return types[id] == SentencePieceProto.CONTROL;
    }

    /** Encodes {@code text}. */
    public Encoding encode(String text) {
        byte[] input = text.getBytes(StandardCharsets.UTF_8);
        Normalizer.Result nr = normalizer.normalize(input);
        byte[] norm = nr.normalized();
        List<int[]> segments = modelType == SentencePieceProto.UNIGRAM ? unigram(norm) : bpe(norm);
        // segments: {begin, end, id} over normalized bytes
        int[] cpIndex = codePointIndex(input);
        List<String> outPieces = new ArrayList<>();
        List<Integer> outIds = new ArrayList<>();
        List<String> surfaces = new ArrayList<>();
        List<Integer> begins = new ArrayList<>();
        List<Integer> ends = new ArrayList<>();
        boolean prevUnk = false;
        for (int[] seg : segments) {
            String w = new String(norm, seg[0], seg[1] - seg[0], StandardCharsets.UTF_8);
            int id = seg[2];
            boolean unk = id == unkId;
            int ob = nr.normToOrig()[seg[0]];
            int oe = nr.normToOrig()[seg[1]];
            if (types[id] == SentencePieceProto.CONTROL) {
                outPieces.add(w);
                outIds.add(id);
                surfaces.add("");
                begins.add(cpIndex[ob]);
                ends.add(cpIndex[ob]);
            } else if (unk && byteFallback) {
                for (int i = seg[0]; i < seg[1]; i++) {
                    int b = norm[i] & 0xff;
                    outPieces.add(String.format("<0x%02X>", b));
                    outIds.add(byteIds[b] >= 0 ? byteIds[b] : unkId);
                    boolean last = i == seg[1] - 1;
                    surfaces.add(last ? new String(input, ob, oe - ob, StandardCharsets.UTF_8) : "");
                    begins.add(cpIndex[ob]);
                    ends.add(last ? cpIndex[oe] : cpIndex[ob]);
                }
            } else if (prevUnk && unk) {
                int last = outPieces.size() - 1;
                outPieces.set(last, outPieces.get(last) + w);
                surfaces.set(last, surfaces.get(last) + new String(input, ob, oe - ob, StandardCharsets.UTF_8));
                ends.set(last, cpIndex[oe]);
            } else {
                outPieces.add(w);
                outIds.add(id);
                surfaces.add(new String(input, ob, oe - ob, StandardCharsets.UTF_8));
                begins.add(cpIndex[ob]);
                ends.add(cpIndex[oe]);
            }
            prevUnk = unk;
        }
        return new Encoding(List.copyOf(outPieces), outIds.stream().mapToInt(Integer::intValue).toArray(),
                new String(norm, StandardCharsets.UTF_8), List.copyOf(surfaces),
                begins.stream().mapToInt(Integer::intValue).toArray(), ends.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Byte offset → code-point offset, for every offset 0..length (offsets inside a character: its start). */
    private static int[] codePointIndex(byte[] b) {
        int[] idx = new int[b.length + 1];
        int cp = 0;
        for (int i = 0; i < b.length; i++) {
            if ((b[i] & 0xC0) != 0x80) {
                idx[i] = cp++;
            } else {
                idx[i] = cp - 1;
            }
        }
        idx[b.length] = cp;
        return idx;
    }

    /** SentencePiece's optimized unigram Viterbi over normalized bytes. */
    private List<int[]> unigram(byte[] norm) {
        int size = norm.length;
        float unkScore = minScore - 10.0f;
        int[] nodeId = new int[size + 1];
        float[] best = new float[size + 1];
        int[] startsAt = new int[size + 1];
        Arrays.fill(startsAt, -1);
        Arrays.fill(nodeId, -1);
        int pos = 0;
        while (pos < size) {
            final int from = pos;
            final float here = best[from];
            final int mblen = Math.min(Utf8.oneCharLen(norm, from), size - from);
            final boolean[] single = {false};
            trie.forEachPrefix(norm, from, (len, id) -> {
                if (types[id] == SentencePieceProto.UNUSED) {
                    return;
                }
                int to = from + len;
                // As SentencePiece: the score expression mixes float and double, so the candidate is computed and
                // compared in double and stored as float.
                double score = types[id] == SentencePieceProto.USER_DEFINED ? len * (double) maxScore - 0.1
                        : (double) scores[id];
                double cand = score + here;
                if (startsAt[to] == -1 || cand > best[to]) {
                    best[to] = (float) cand;
                    startsAt[to] = from;
                    nodeId[to] = id;
                }
                if (len == mblen) {
                    single[0] = true;
                }
            });
            if (!single[0]) {
                int to = from + mblen;
                float cand = unkScore + here;
                if (startsAt[to] == -1 || cand > best[to]) {
                    best[to] = cand;
                    startsAt[to] = from;
                    nodeId[to] = unkId;
                }
            }
            pos += mblen;
        }
        ArrayDeque<int[]> out = new ArrayDeque<>();
        int end = size;
        while (end > 0) {
            int start = startsAt[end];
            out.addFirst(new int[] {start, end, nodeId[end]});
            end = start;
        }
        return new ArrayList<>(out);
    }

    /** SentencePiece's BPE: merge the best-scoring adjacent pair (leftmost on ties) until none is a piece. */
    private List<int[]> bpe(byte[] norm) {
        int size = norm.length;
        List<int[]> syms = new ArrayList<>(); // {begin, end}
        int pos = 0;
        while (pos < size) {
            int m = userDefined.match(norm, pos);
            int len = m > 0 ? m : Math.min(Utf8.oneCharLen(norm, pos), size - pos);
            syms.add(new int[] {pos, pos + len});
            pos += len;
        }
        int n = syms.size();
        int[] begin = new int[n];
        int[] end = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] frozen = new boolean[n];
        for (int i = 0; i < n; i++) {
            begin[i] = syms.get(i)[0];
            end[i] = syms.get(i)[1];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            frozen[i] = userDefined.match(norm, begin[i]) == end[i] - begin[i] && userDefined.match(norm, begin[i]) > 0;
        }
        // agenda entries: {score bits, left, right, size}
        PriorityQueue<float[]> agenda = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Float.compare(b[0], a[0])
                : Float.compare(a[1], b[1]));
        for (int i = 0; i + 1 < n; i++) {
            addPair(agenda, norm, i, i + 1, begin, end, frozen);
        }
        while (!agenda.isEmpty()) {
            float[] top = agenda.poll();
            int l = (int) top[1];
            int r = (int) top[2];
            if (end[l] - begin[l] == 0 || end[r] - begin[r] == 0 || end[l] != begin[r]
                    || (end[l] - begin[l]) + (end[r] - begin[r]) != (int) top[3]) {
                continue;
            }
            end[l] = end[r];
            begin[r] = end[r]; // r is now empty
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            if (prev[l] >= 0) {
                addPair(agenda, norm, prev[l], l, begin, end, frozen);
            }
            if (next[l] >= 0) {
                addPair(agenda, norm, l, next[l], begin, end, frozen);
            }
        }
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i >= 0 && i < n; i = next[i]) {
            resegment(norm, begin[i], end[i], out);
        }
        return out;
    }

    private void addPair(PriorityQueue<float[]> agenda, byte[] norm, int l, int r, int[] begin, int[] end,
            boolean[] frozen) {
        if (l < 0 || r < 0 || frozen[l] || frozen[r]) {
            return;
        }
        String piece = new String(norm, begin[l], end[r] - begin[l], StandardCharsets.UTF_8);
        Integer id = normalPieces.get(piece);
        if (id == null || types[id] == SentencePieceProto.UNUSED) {
            return;
        }
        agenda.add(new float[] {scores[id], l, r, end[r] - begin[l]});
    }

    /** Emits a symbol, splitting UNUSED pieces back into known parts as SentencePiece does. */
    private void resegment(byte[] norm, int b, int e, List<int[]> out) {
        String piece = new String(norm, b, e - b, StandardCharsets.UTF_8);
        Integer id = normalPieces.get(piece);
        if (id == null) {
            out.add(new int[] {b, e, unkId});
            return;
        }
        if (types[id] != SentencePieceProto.UNUSED) {
            out.add(new int[] {b, e, id});
            return;
        }
        out.add(new int[] {b, e, id});
    }

    /** Decodes ids to text as {@code DecodeIds}. */
    public String decode(int[] ids) {
        return decode(ids, null);
    }

    private String decode(int[] ids, List<String> given) {
        StringBuilder sb = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean bosWs = true;
        for (int k = 0; k < ids.length; k++) {
            int id = ids[k];
            if (id < 0 || id >= pieces.length) {
                throw new CogVideoException("piece id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
            }
            if (types[id] == SentencePieceProto.BYTE) {
                bytes.write(parseByte(pieces[id]));
                continue;
            }
            if (bytes.size() > 0) {
                String s = decodeUtf8(bytes.toByteArray());
                bytes.reset();
                if (bosWs && s.startsWith(" ") && !treatWhitespaceAsSuffix) {
                    s = s.substring(1);
                }
                sb.append(s);
                bosWs = false;
            }
            String piece = pieces[id];
            String d;
            if (types[id] == SentencePieceProto.CONTROL) {
                d = "";
            } else if (id == unkId) {
                d = given == null || given.get(k).equals(piece) ? unkSurface : given.get(k);
            } else {
                String p = piece;
                if (bosWs && !treatWhitespaceAsSuffix && p.startsWith("\u2581")) {
                    p = p.substring(1);
                }
                d = p.replace('\u2581', ' ');
            }
            sb.append(d);
            if (types[id] != SentencePieceProto.CONTROL) {
                bosWs = false;
            }
        }
        if (bytes.size() > 0) {
            sb.append(decodeUtf8(bytes.toByteArray()));
        }
        return sb.toString();
    }

    /** Decodes pieces as {@code DecodePieces}: an unknown piece decodes to itself (its id's piece differs). */
    public String decodePieces(List<String> ps) {
        return decode(ps.stream().mapToInt(this::pieceToId).toArray(), ps);
    }

    private static String decodeUtf8(byte[] b) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE).replaceWith("\uFFFD");
        try {
            return dec.decode(ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return new String(b, StandardCharsets.UTF_8);
        }
    }
}
