package io.cogvideo.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.AttentionMask;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.CheckedBackend;
import io.cogvideo.spi.DType;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorScope;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The checking contract of the SPI, run by every backend: the backend under test, wrapped in
 * {@link CheckedBackend} as {@link io.cogvideo.spi.Backends#create} wraps it, is fed a wrong rank, a shape mismatch, a
 * closed tensor and a tensor it does not own in {@code linear}, {@code add}, {@code attention}, {@code gatherRows}
 * and {@code write}, and must fail with exactly the {@link CogVideoException} and message of the checking layer (the
 * backend itself never sees the call). A well-formed call of each operation succeeds with the right values, so the
 * failures are not an accident of the inputs; every test runs in a {@link TensorScope} and must leave no live
 * temporary. Subclass it and provide the raw backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendContractKit {
    protected CheckedBackend backend;
    private TensorScope scope;

    /** The raw backend under test (not yet wrapped). */
    protected abstract Backend newBackend();

    /**
     * Whether the backend under test computes values (false for a device that only records calls); the tests of
     * well-formed calls then skip, the checking tests still run.
     */
    protected boolean computesValues() {
        return true;
    }

    private void needsValues() {
        Assumptions.assumeTrue(computesValues(), "this backend records calls without computing values");
    }

    @BeforeAll
    void setUpBackend() {
        backend = CheckedBackend.wrap(newBackend(), true);
    }

    @AfterAll
    void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    @BeforeEach
    void openScope() {
        scope = TensorScope.open();
    }

    @AfterEach
    void closeScopeWithoutLeaks() {
        scope.close();
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    /** A tensor of {@code shape} holding 0.25, 0.5, 0.75, ... (distinct, exactly representable values). */
    protected Tensor t(int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = 0.25f * (i + 1);
        }
        return backend.fromFloats(v, shape);
    }

    /** A tensor of {@code shape} that is already closed. */
    protected Tensor closed(int... shape) {
        Tensor x = t(shape);
        x.close();
        return x;
    }

    /** A tensor no backend made (so certainly not the one under test). */
    protected static final class ForeignTensor implements Tensor {
        private final int[] shape;

        public ForeignTensor(int... shape) {
            this.shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        @Override
        public DType dtype() {
            return DType.FLOAT32;
        }

        @Override
        public void close() {
        }
    }

    protected static void fails(ThrowingCallable call, String message) {
        assertThatThrownBy(call).isExactlyInstanceOf(CogVideoException.class).hasMessage(message);
    }

    private FusedAttention attention() {
        Assumptions.assumeTrue(OpPacks.has(backend, FusedAttention.class),
                "backend '" + backend.name() + "' has no FusedAttention pack");
        return OpPacks.require(backend, FusedAttention.class, "the attention contract");
    }

    private static AttentionMask allVisible(int heads) {
        // no text, one frame of 2x2, not causal: every query sees every key
        return new AttentionMask(heads, 0, 0, 0f, false, 0, 0, 4, 2, AttentionMask.Scope.OWN_FRAME, false, 0, 0,
                false);
    }

    // ---------------------------------------------------------------- linear

    @Test
    void linearComputesXTimesWeightTransposedPlusBias() {
        needsValues();
        Tensor x = backend.fromFloats(new float[] {1, 2, 3, -1, 0, 2}, 1, 2, 3);
        Tensor w = backend.fromFloats(new float[] {1, 0, 0, 0, 1, 1}, 2, 3);
        Tensor b = backend.fromFloats(new float[] {0.5f, -0.5f}, 2);
        Tensor y = backend.linear(x, w, b);
        assertThat(y.shape()).containsExactly(1, 2, 2);
        assertThat(backend.toFloats(y)).containsExactly(1.5f, 4.5f, -0.5f, 1.5f);
    }

    @Test
    void linearWrongRank() {
        fails(() -> backend.linear(t(2, 3), t(4, 3), null), "linear: x must have rank 3, got [2, 3]");
        fails(() -> backend.linear(t(1, 2, 3), t(1, 4, 3), null), "linear: weight must have rank 2, got [1, 4, 3]");
    }

    @Test
    void linearShapeMismatch() {
        fails(() -> backend.linear(t(1, 2, 3), t(4, 5), null),
                "linear: x [1, 2, 3] has 3 columns but weight [4, 5] takes 5");
        fails(() -> backend.linear(t(1, 2, 3), t(4, 3), t(5)), "linear: bias must be a vector of 4, got [5]");
    }

    @Test
    void linearClosedTensor() {
        fails(() -> backend.linear(closed(1, 2, 3), t(4, 3), null), "linear: x [1, 2, 3] is closed");
        fails(() -> backend.linear(t(1, 2, 3), closed(4, 3), null), "linear: weight [4, 3] is closed");
        fails(() -> backend.linear(t(1, 2, 3), t(4, 3), closed(4)), "linear: bias [4] is closed");
    }

    @Test
    void linearForeignTensor() {
        fails(() -> backend.linear(t(1, 2, 3), new ForeignTensor(4, 3), null),
                "linear: weight belongs to another backend (ForeignTensor)");
        fails(() -> backend.linear(null, t(4, 3), null), "linear: x must not be null");
    }

    // ---------------------------------------------------------------- add

    @Test
    void addSumsAndBroadcastsBatchOne() {
        needsValues();
        Tensor a = backend.fromFloats(new float[] {1, 2, 3, 4}, 2, 1, 2);
        Tensor b = backend.fromFloats(new float[] {10, 20}, 1, 1, 2);
        assertThat(backend.toFloats(backend.add(a, b))).containsExactly(11, 22, 13, 24);
        assertThat(backend.toFloats(backend.add(a, a))).containsExactly(2, 4, 6, 8);
    }

    @Test
    void addWrongRank() {
        fails(() -> backend.add(t(1, 2, 3), t(2, 3)), "add: b [2, 3] must have the shape of a [1, 2, 3] (or batch 1)");
    }

    @Test
    void addShapeMismatch() {
        fails(() -> backend.add(t(2, 2, 3), t(2, 2, 4)),
                "add: b [2, 2, 4] must have the shape of a [2, 2, 3] (or batch 1)");
        fails(() -> backend.add(t(2, 2, 3), t(3, 2, 3)),
                "add: b [3, 2, 3] must have the shape of a [2, 2, 3] (or batch 1)");
        fails(() -> backend.add(t(1, 2, 3), t(2, 2, 3)),
                "add: b [2, 2, 3] must have the shape of a [1, 2, 3] (or batch 1)");
    }

    @Test
    void addClosedOrForeignTensor() {
        fails(() -> backend.add(closed(1, 2, 3), t(1, 2, 3)), "add: a [1, 2, 3] is closed");
        fails(() -> backend.add(t(1, 2, 3), closed(1, 2, 3)), "add: b [1, 2, 3] is closed");
        fails(() -> backend.add(t(1, 2, 3), new ForeignTensor(1, 2, 3)),
                "add: b belongs to another backend (ForeignTensor)");
    }

    // ---------------------------------------------------------------- attention

    @Test
    void attentionOfIdenticalKeysAveragesTheValues() {
        needsValues();
        FusedAttention attn = attention();
        // every key equal: uniform weights, so the output is the mean of the visible value rows (to 1e-3, which a
        // kernel computing in half precision also meets)
        Tensor q = t(1, 2, 4);
        Tensor k = backend.fromFloats(new float[3 * 4], 1, 3, 4);
        Tensor v = backend.fromFloats(new float[] {1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8}, 1, 3, 4);
        Tensor out = attn.attention(q, k, v, 3, allVisible(2));
        assertThat(out.shape()).containsExactly(1, 2, 4);
        float[] o = backend.toFloats(out);
        float[] mean = {3, 4, 5, 6};
        for (int i = 0; i < o.length; i++) {
            assertThat(o[i]).as("element " + i).isCloseTo(mean[i % 4], org.assertj.core.data.Offset.offset(1e-3f));
        }
    }

    @Test
    void attentionWrongRank() {
        FusedAttention attn = attention();
        fails(() -> attn.attention(t(2, 8), t(1, 5, 8), t(1, 5, 8), 5, allVisible(2)),
                "attention: q must have rank 3, got [2, 8]");
        fails(() -> attn.attention(t(1, 2, 8), t(5, 8), t(5, 8), 5, allVisible(2)),
                "attention: k must have rank 3, got [5, 8]");
    }

    @Test
    void attentionShapeMismatch() {
        FusedAttention attn = attention();
        fails(() -> attn.attention(t(1, 2, 8), t(1, 5, 8), t(1, 4, 8), 4, allVisible(2)),
                "attention: k [1, 5, 8] and v [1, 4, 8] must have the same shape");
        fails(() -> attn.attention(t(1, 2, 8), t(1, 5, 6), t(1, 5, 6), 5, allVisible(2)),
                "attention: q [1, 2, 8] and k [1, 5, 6] must agree on batch and width");
        fails(() -> attn.attention(t(1, 2, 8), t(1, 5, 8), t(1, 5, 8), 6, allVisible(2)),
                "attention: keyLength 6 outside [max(1, text 0), 5]");
        fails(() -> attn.attention(t(1, 2, 9), t(1, 5, 9), t(1, 5, 9), 5, allVisible(2)),
                "attention: width 9 is not a multiple of 2 heads");
    }

    @Test
    void attentionClosedOrForeignTensor() {
        FusedAttention attn = attention();
        fails(() -> attn.attention(closed(1, 2, 8), t(1, 5, 8), t(1, 5, 8), 5, allVisible(2)),
                "attention: q [1, 2, 8] is closed");
        fails(() -> attn.attention(t(1, 2, 8), t(1, 5, 8), closed(1, 5, 8), 5, allVisible(2)),
                "attention: v [1, 5, 8] is closed");
        fails(() -> attn.attention(t(1, 2, 8), new ForeignTensor(1, 5, 8), t(1, 5, 8), 5, allVisible(2)),
                "attention: k belongs to another backend (ForeignTensor)");
        fails(() -> attn.attention(t(1, 2, 8), t(1, 5, 8), t(1, 5, 8), 5, null), "attention: mask must not be null");
    }

    // ---------------------------------------------------------------- gatherRows

    @Test
    void gatherRowsCopiesTableRows() {
        needsValues();
        Tensor table = t(4, 2); // rows (0.25, 0.5), (0.75, 1), (1.25, 1.5), (1.75, 2)
        Tensor g = backend.gatherRows(table, new int[] {3, 0, 3, 1}, 2);
        assertThat(g.shape()).containsExactly(2, 2, 2);
        assertThat(backend.toFloats(g)).containsExactly(1.75f, 2f, 0.25f, 0.5f, 1.75f, 2f, 0.75f, 1f);
    }

    @Test
    void gatherRowsWrongRank() {
        fails(() -> backend.gatherRows(t(2, 3, 4), new int[] {0}, 1), "gatherRows: table must have rank 2, got [2, 3, 4]");
    }

    @Test
    void gatherRowsShapeMismatchAndOutOfRange() {
        fails(() -> backend.gatherRows(t(4, 3), new int[] {0, 1, 2}, 2), "gatherRows: 3 rows cannot be split into 2 batches");
        fails(() -> backend.gatherRows(t(4, 3), new int[0], 1), "gatherRows: 0 rows cannot be split into 1 batches");
        fails(() -> backend.gatherRows(t(4, 3), new int[] {0, 4}, 1), "gatherRows: row 4 at index 1 outside [0, 4)");
        fails(() -> backend.gatherRows(t(4, 3), new int[] {-1}, 1), "gatherRows: row -1 at index 0 outside [0, 4)");
    }

    @Test
    void gatherRowsClosedOrForeignTensor() {
        fails(() -> backend.gatherRows(closed(4, 3), new int[] {0}, 1), "gatherRows: table [4, 3] is closed");
        fails(() -> backend.gatherRows(new ForeignTensor(4, 3), new int[] {0}, 1),
                "gatherRows: table belongs to another backend (ForeignTensor)");
    }

    // ---------------------------------------------------------------- write

    @Test
    void writeCopiesRowsInPlace() {
        needsValues();
        Tensor dst = backend.fromFloats(new float[8], 1, 4, 2);
        backend.write(dst, 1, 1, backend.fromFloats(new float[] {1, 2, 3, 4}, 1, 2, 2));
        assertThat(backend.toFloats(dst)).containsExactly(0, 0, 1, 2, 3, 4, 0, 0);
    }

    @Test
    void writeWrongRank() {
        fails(() -> backend.write(t(1, 4, 3), 1, 0, t(4, 3)), "write: [1, 4, 3] and [4, 3] must agree on every axis but 1");
        fails(() -> backend.write(t(1, 4, 3), 3, 0, t(1, 4, 3)), "write: axis 3 outside [0, 3) for [1, 4, 3]");
    }

    @Test
    void writeShapeMismatch() {
        fails(() -> backend.write(t(1, 4, 3), 1, 0, t(1, 2, 5)),
                "write: [1, 4, 3] and [1, 2, 5] must agree on every axis but 1");
        fails(() -> backend.write(t(1, 4, 3), 1, 2, t(1, 3, 3)), "write: 3 rows at offset 2 do not fit axis 1 of [1, 4, 3]");
        fails(() -> backend.write(t(1, 4, 3), 1, -1, t(1, 1, 3)),
                "write: 1 rows at offset -1 do not fit axis 1 of [1, 4, 3]");
    }

    @Test
    void writeClosedOrForeignTensor() {
        fails(() -> backend.write(closed(1, 4, 3), 1, 0, t(1, 1, 3)), "write: dst [1, 4, 3] is closed");
        fails(() -> backend.write(t(1, 4, 3), 1, 0, closed(1, 1, 3)), "write: src [1, 1, 3] is closed");
        fails(() -> backend.write(t(1, 4, 3), 1, 0, new ForeignTensor(1, 1, 3)),
                "write: src belongs to another backend (ForeignTensor)");
    }

    // ---------------------------------------------------------------- use after close

    @Test
    void closedTensorCannotBeRead() {
        fails(() -> backend.toFloats(closed(2, 3)), "toFloats: tensor [2, 3] is closed");
    }
}
