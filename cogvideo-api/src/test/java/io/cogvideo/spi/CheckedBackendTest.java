package io.cogvideo.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.InferenceState;
import io.cogvideo.model.SequenceOptions;
import io.cogvideo.testkit.GoldenModels;
import io.cogvideo.testkit.GoldenSet;
import io.cogvideo.testkit.ReferenceBackend;
import java.nio.ByteBuffer;
import java.util.Optional;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The checking layer on the reference backend: what the contract kit checks for every backend, plus the calls the
 * kit leaves out (op packs, caches, uploads), tensors of another checked backend, use after close, the closed backend,
 * leak accounting, and a model run (prefill and cached steps, all option sets) that must leave no live temporary.
 */
class CheckedBackendTest {
    private CheckedBackend backend;

    @BeforeEach
    void setUp() {
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    }

    @AfterEach
    void tearDown() {
        backend.close();
    }

    private static void fails(ThrowingCallable call, String message) {
        assertThatThrownBy(call).isExactlyInstanceOf(CogVideoException.class).hasMessage(message);
    }

    private Tensor zeros(int... shape) {
        return backend.fromFloats(new float[Math.toIntExact(TensorData.numel(shape))], shape);
    }

    private VqVaeOps vq() {
        return OpPacks.require(backend, VqVaeOps.class, "the test");
    }

    // ---------------------------------------------------------------- wrapping

    @Test
    void wrapIsIdempotentAndRejectsNull() {
        assertThat(CheckedBackend.wrap(backend)).isSameAs(backend);
        assertThat(backend.unwrap()).isInstanceOf(ReferenceBackend.class);
        assertThat(backend.debug()).isTrue();
        assertThat(backend.name()).isEqualTo("reference");
        assertThat(backend.toString()).isEqualTo("checked reference backend");
        fails(() -> CheckedBackend.wrap(null, false), "backend must not be null");
    }

    @Test
    void wrapReadsDebugModeFromTheSystemProperty() {
        // the project's tests run with -Dcogvideo.debugTensors=true (root pom, surefire argLine)
        try (CheckedBackend b = CheckedBackend.wrap(new ReferenceBackend())) {
            assertThat(b.debug()).isEqualTo(Boolean.getBoolean(CheckedBackend.DEBUG_PROPERTY));
        }
    }

    // ---------------------------------------------------------------- wrong rank, shape mismatch, range

    @Test
    void wrongRank() {
        fails(() -> backend.linear(zeros(2, 3), zeros(4, 3), null), "linear: x must have rank 3, got [2, 3]");
        fails(() -> backend.gatherRows(zeros(4), new int[] {0}, 1), "gatherRows: table must have rank 2, got [4]");
        fails(() -> vq().conv2d(zeros(1, 2, 3), zeros(1, 2, 1, 1), null, 1, 0, 0, 0, 0),
                "conv2d: x must have rank 4, got [1, 2, 3]");
        fails(() -> vq().codebookNearest(zeros(1, 2, 2, 2), zeros(4, 2, 1)),
                "codebookNearest: codebook must have rank 2, got [4, 2, 1]");
        fails(() -> backend.cache(DType.FLOAT32, 2, 3), "cache: shape must be [batch, rows, columns], got [2, 3]");
    }

    @Test
    void shapeMismatch() {
        fails(() -> backend.layerNorm(zeros(1, 2, 4), zeros(3), zeros(4), 1e-5f),
                "layerNorm: gamma must be a vector of 4, got [3]");
        fails(() -> backend.concat(1, zeros(1, 2, 4), zeros(1, 2, 5)),
                "concat: [1, 2, 4] and [1, 2, 5] must agree on every axis but 1");
        fails(() -> vq().conv2d(zeros(1, 2, 4, 4), zeros(3, 3, 3, 3), null, 1, 1, 1, 1, 1),
                "conv2d: x [1, 2, 4, 4] has 2 channels but weight [3, 3, 3, 3] takes 3");
        fails(() -> vq().groupNorm(zeros(1, 6, 2, 2), 4, zeros(6), zeros(6), 1e-6f),
                "groupNorm: 6 channels cannot be split into 4 groups");
        fails(() -> OpPacks.require(backend, FusedAttention.class, "test").channelMix(zeros(1, 2, 4), zeros(1, 2, 4),
                zeros(3)), "channelMix: mixLogits must be a vector of 4, got [3]");
        fails(() -> backend.fromFloats(new float[5], 2, 3), "fromFloats: 5 values for shape [2, 3]");
    }

    @Test
    void outOfRangeRowsIdsAndArguments() {
        fails(() -> backend.gatherRows(zeros(4, 2), new int[] {0, 9}, 1), "gatherRows: row 9 at index 1 outside [0, 4)");
        fails(() -> vq().codebookLookup(zeros(4, 2), new int[] {0, 1, 4, 2}, 1, 2, 2),
                "codebookLookup: id 4 at index 2 outside the codebook [0, 4)");
        fails(() -> vq().codebookLookup(zeros(4, 2), new int[] {-1, 1, 2, 3}, 1, 2, 2),
                "codebookLookup: id -1 at index 0 outside the codebook [0, 4)");
        fails(() -> vq().codebookLookup(zeros(4, 2), new int[] {0, 1, 2}, 1, 2, 2), "codebookLookup: 3 ids for 1x2x2");
        fails(() -> backend.slice(zeros(1, 4, 2), 1, 3, 2), "slice: [3, 5) outside [0, 4) on axis 1 of [1, 4, 2]");
        fails(() -> backend.slice(zeros(1, 4, 2), 3, 0, 1), "slice: axis 3 outside [0, 3) for [1, 4, 2]");
        fails(() -> backend.layerNorm(zeros(1, 1, 2), zeros(2), zeros(2), 0f),
                "layerNorm: eps must be a positive finite number, got 0.0");
        fails(() -> backend.cache(DType.INT32, 1, 2, 3), "cache: dtype must be a floating-point type, got INT32");
        fails(() -> backend.fromFloats(new float[0], 0), "fromFloats: dimensions must be >= 1, got [0]");
    }

    @Test
    void uploadChecksDtypeAndLinearRank() {
        ByteBuffer ints = ByteBuffer.allocate(8);
        fails(() -> backend.upload(new TensorData("ids", DType.INT32, new int[] {2}, ints), WeightUse.GENERAL),
                "upload: tensor 'ids' has dtype INT32; weights must be float");
        fails(() -> backend.upload(TensorData.ofFloats("w", new float[4], 4), WeightUse.LINEAR),
                "upload: linear weight 'w' must have rank 2, got [4]");
        Tensor w = backend.upload(TensorData.ofFloats("w", new float[] {1, 2, 3, 4}, 2, 2), WeightUse.LINEAR);
        assertThat(backend.toFloats(w)).containsExactly(1, 2, 3, 4);
        assertThat(backend.liveTemporaries()).as("weights are not temporaries").isZero();
    }

    @Test
    void referenceBackendHoldsFloat32Caches() {
        // the checking layer admits any float dtype; the backend may widen it, and says what it cannot hold
        fails(() -> backend.cache(DType.FLOAT64, 1, 2, 3),
                "the reference backend holds key/value caches as FLOAT32 (half types widened to it), not FLOAT64");
        Tensor half = backend.cache(DType.FLOAT16, 1, 2, 3);
        assertThat(half.dtype()).as("widened, never narrowed").isEqualTo(DType.FLOAT32);
        half.close();
        Tensor c = backend.cache(DType.FLOAT32, 1, 2, 3);
        assertThat(c.dtype()).isEqualTo(DType.FLOAT32);
        assertThat(backend.toFloats(c)).containsOnly(0f).hasSize(6);
        assertThat(backend.liveTemporaries()).as("caches are not temporaries").isZero();
    }

    // ---------------------------------------------------------------- ownership, closed tensors, closed backend

    @Test
    void tensorOfAnotherCheckedBackend() {
        try (CheckedBackend other = CheckedBackend.wrap(new ReferenceBackend(), true)) {
            Tensor foreign = other.fromFloats(new float[6], 1, 2, 3);
            fails(() -> backend.add(zeros(1, 2, 3), foreign), "add: b belongs to another backend (Handle)");
            fails(() -> backend.toFloats(foreign), "toFloats: tensor belongs to another backend (Handle)");
            foreign.close();
        }
    }

    @Test
    void useAfterCloseFailsOnTheReferenceBackend() {
        Tensor x = backend.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 1, 2, 3);
        Tensor y = backend.gelu(x);
        x.close();
        x.close(); // idempotent
        assertThat(x.toString()).isEqualTo("FLOAT32[1, 2, 3] (closed)");
        fails(() -> backend.toFloats(x), "toFloats: tensor [1, 2, 3] is closed");
        fails(() -> backend.gelu(x), "gelu: x [1, 2, 3] is closed");
        fails(() -> backend.slice(x, 1, 0, 1), "slice: x [1, 2, 3] is closed");
        fails(() -> backend.concat(1, y, x), "concat: part 1 [1, 2, 3] is closed");
        fails(() -> vq().swish(x), "swish: x [1, 2, 3] is closed");
        Tensor cache = backend.cache(DType.FLOAT32, 1, 4, 3);
        cache.close();
        fails(() -> backend.write(cache, 1, 0, y), "write: dst [1, 4, 3] is closed");
        y.close();
        assertThat(backend.liveTemporaries()).isZero();
    }

    @Test
    void closedBackendRejectsEverything() {
        Tensor x = zeros(1, 2, 3);
        backend.close();
        fails(() -> backend.toFloats(x), "backend 'reference' is closed");
        fails(() -> backend.fromFloats(new float[1], 1), "backend 'reference' is closed");
        fails(() -> backend.cache(DType.FLOAT32, 1, 1, 1), "backend 'reference' is closed");
        backend.close(); // idempotent
    }

    // ---------------------------------------------------------------- op packs through the checking layer

    /** A pack this project does not define. */
    interface TrainingOps extends OpPack {
    }

    @Test
    void packsArePassedThroughCheckedAndAnUncheckedPackIsRefused() {
        assertThat(backend.find(FusedAttention.class)).isPresent();
        assertThat(backend.find(LocalAttention.class)).isPresent();
        assertThat(backend.find(VqVaeOps.class)).isPresent();
        assertThat(backend.find(FusedAttention.class).get()).isNotInstanceOf(ReferenceBackend.class);
        assertThat(backend.find(TrainingOps.class)).isEmpty();
        // a raw backend that has a pack the checking layer does not know
        Backend raw = new ReferenceBackend();
        Backend withTraining = (Backend) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, method, args) -> {
                    if (method.getName().equals("find") && args[0] == TrainingOps.class) {
                        return Optional.of(new TrainingOps() {
                        });
                    }
                    return method.invoke(raw, args);
                });
        try (CheckedBackend checked = CheckedBackend.wrap(withTraining, false)) {
            fails(() -> checked.find(TrainingOps.class), "op pack " + TrainingOps.class.getName()
                    + " has no checking layer in CheckedBackend; add one before using it");
        }
    }

    @Test
    void attentionRowThatSeesNothingIsZero() {
        FusedAttention attn = OpPacks.require(backend, FusedAttention.class, "the test");
        // one padded text key, frame keys from position 4, a causal query at position 0: nothing visible
        AttentionMask m = new AttentionMask(1, 1, 1, 0f, false, 0, 4, 4, 2, AttentionMask.Scope.ALL_FRAMES, true, 0, 0,
                false);
        float[] ones = new float[3 * 2];
        java.util.Arrays.fill(ones, 1f);
        Tensor q = backend.fromFloats(new float[] {1, 1}, 1, 1, 2);
        Tensor kv = backend.fromFloats(ones, 1, 3, 2);
        assertThat(backend.toFloats(attn.attention(q, kv, kv, 3, m))).containsExactly(0f, 0f);
        // at position 4 the query sees the first frame key
        assertThat(backend.toFloats(attn.attention(q, kv, kv, 3, m.withFrameStarts(4, 4)))).containsExactly(1f, 1f);
    }

    // ---------------------------------------------------------------- leak accounting

    @Test
    void liveTemporariesCountAndTheLeakReportNamesTheOrigin() {
        Tensor a = zeros(1, 2, 3);
        Tensor b = backend.gelu(a);
        assertThat(backend.liveTemporaries()).isEqualTo(2);
        String report = backend.leakReport();
        assertThat(report).startsWith("2 live temporaries:").contains("[1, 2, 3] made at")
                .contains(CheckedBackendTest.class.getName());
        a.close();
        b.close();
        assertThat(backend.liveTemporaries()).isZero();
        assertThat(backend.leakReport()).isEqualTo("0 live temporaries:");
        try (CheckedBackend quiet = CheckedBackend.wrap(new ReferenceBackend(), false)) {
            Tensor t = quiet.fromFloats(new float[1], 1);
            assertThat(quiet.leakReport())
                    .isEqualTo("1 live temporaries (turn on -Dcogvideo.debugTensors=true for their origins)");
            t.close();
        }
    }

    /**
     * The golden tiny model on its own checked reference backend, loaded once for the model tests of this class (not
     * closed: a reference backend holds nothing but heap arrays).
     */
    private static final class Golden {
        static final GoldenSet SET = GoldenSet.fromProperty("cogvideo.golden", "cogvideo-tiny-a");
        static final CheckedBackend BACKEND = CheckedBackend.wrap(new ReferenceBackend(), true);
        static final CogVideoModel MODEL = GoldenModels.load(SET, BACKEND);
    }

    @Test
    void cogVideoModelLeavesNoLiveTemporaries() {
        GoldenSet golden = Golden.SET;
        CogVideoModel model = Golden.MODEL;
        CheckedBackend backend = Golden.BACKEND;
        int fl = model.config().frameLength();
        int text = 6;
        int soi = golden.manifest().path("special_ids").path("start_of_image").asInt();
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        SequenceOptions[] all = {SequenceOptions.firstFrame(1.4f), SequenceOptions.stage1(0f, true),
            SequenceOptions.stage1(1.4f, false), SequenceOptions.stage2(10, 1.4f)};
        for (SequenceOptions o : all) {
            int given = o.stage() == 2 ? 3 : 1;
            int n = text + given * fl;
            int steps = 5;
            int[] ids = new int[n + steps];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i < text ? 100 + i : (i - text) % fl == 0 ? soi : r.nextInt(model.config().imageVocabSize());
            }
            int[] pos = io.cogvideo.generation.SequenceLayout.positions(o.stage(), text, fl, ids.length);
            long before = backend.liveTemporaries();
            try (InferenceState s = model.newState(1, text, o)) {
                try (Tensor logits = model.prefill(s, new int[][] {java.util.Arrays.copyOf(ids, n)},
                        java.util.Arrays.copyOf(pos, n), new int[] {text - 1, n - 1})) {
                    assertThat(logits.shape()).containsExactly(1, 2, model.config().imageVocabSize());
                }
                for (int i = n; i < n + steps; i++) {
                    try (Tensor logits = model.step(s, new int[] {ids[i]}, pos[i])) {
                        assertThat(logits.shape()).containsExactly(1, 1, model.config().imageVocabSize());
                    }
                }
            }
            assertThat(backend.liveTemporaries()).as(o + ": " + backend.leakReport()).isEqualTo(before).isZero();
        }
    }

    @Test
    void aFailingModelCallLeavesNoLiveTemporaries() {
        CogVideoModel model = Golden.MODEL;
        CheckedBackend backend = Golden.BACKEND;
        int text = 4;
        try (InferenceState s = model.newState(1, text, SequenceOptions.stage1(0f, true))) {
            // the word embeddings are gathered before the bad position id is found
            int[] pos = {0, 1, 2, 99_999};
            assertThatThrownBy(() -> model.prefill(s, new int[][] {{1, 2, 3, 4}}, pos, null))
                    .isInstanceOf(CogVideoException.class).hasMessageContaining("position id 99999");
        }
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }
}
