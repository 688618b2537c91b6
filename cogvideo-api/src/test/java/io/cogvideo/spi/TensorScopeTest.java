package io.cogvideo.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cogvideo.CogVideoException;
import io.cogvideo.testkit.ReferenceBackend;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link TensorScope} with a checked reference backend: what a scope frees, keep and adopt, nesting rules. */
class TensorScopeTest {
    private CheckedBackend backend;

    @BeforeEach
    void setUp() {
        backend = CheckedBackend.wrap(new ReferenceBackend(), true);
    }

    @AfterEach
    void tearDown() {
        backend.close();
    }

    private Tensor temp() {
        return backend.fromFloats(new float[] {1, 2}, 1, 1, 2);
    }

    private static boolean isClosed(Tensor t) {
        return t.toString().endsWith("(closed)");
    }

    @Test
    void closeFreesEveryTemporaryMadeInside() {
        Tensor a;
        Tensor b;
        try (TensorScope s = TensorScope.open()) {
            a = temp();
            b = backend.add(a, a);
            assertThat(s.size()).isEqualTo(2);
            assertThat(backend.liveTemporaries()).isEqualTo(2);
        }
        assertThat(isClosed(a)).isTrue();
        assertThat(isClosed(b)).isTrue();
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
        assertThatThrownBy(() -> backend.toFloats(b)).isExactlyInstanceOf(CogVideoException.class)
                .hasMessage("toFloats: tensor [1, 1, 2] is closed");
    }

    @Test
    void closeFreesTemporariesAlsoWhenTheBodyThrows() {
        Tensor[] made = new Tensor[2];
        assertThatThrownBy(() -> {
            try (TensorScope s = TensorScope.open()) {
                made[0] = temp();
                made[1] = backend.gelu(made[0]);
                backend.linear(made[1], made[0], null); // rank 2 weight expected: throws
            }
        }).isExactlyInstanceOf(CogVideoException.class).hasMessage("linear: weight must have rank 2, got [1, 1, 2]");
        assertThat(isClosed(made[0])).isTrue();
        assertThat(isClosed(made[1])).isTrue();
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    @Test
    void weightsAndCachesAreNotScoped() {
        Tensor w;
        Tensor c;
        try (TensorScope s = TensorScope.open()) {
            w = backend.upload(TensorData.ofFloats("w", new float[] {1, 2}, 1, 2), WeightUse.LINEAR);
            c = backend.cache(DType.FLOAT32, 1, 2, 2);
            assertThat(s.size()).isZero();
        }
        assertThat(backend.toFloats(w)).containsExactly(1, 2);
        assertThat(backend.toFloats(c)).containsExactly(0, 0, 0, 0);
    }

    @Test
    void keepMovesTheTensorToTheEnclosingScope() {
        Tensor kept;
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope inner = TensorScope.open()) {
                Tensor x = temp();
                kept = inner.keep(backend.gelu(x));
                assertThat(inner.size()).isEqualTo(1);
                assertThat(outer.size()).isEqualTo(1);
            }
            assertThat(isClosed(kept)).as("kept past the inner scope").isFalse();
            assertThat(backend.liveTemporaries()).isEqualTo(1);
        }
        assertThat(isClosed(kept)).as("freed with the outer scope").isTrue();
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    @Test
    void keepWithoutEnclosingScopeHandsTheTensorToTheCaller() {
        Tensor kept;
        try (TensorScope s = TensorScope.open()) {
            kept = s.keep(temp());
            assertThat(s.size()).isZero();
        }
        assertThat(isClosed(kept)).isFalse();
        assertThat(backend.liveTemporaries()).isEqualTo(1);
        kept.close();
        assertThat(backend.liveTemporaries()).isZero();
    }

    @Test
    void adoptTakesUnscopedTensorsAndTensorsOfEnclosingScopes() {
        Tensor unscoped = temp(); // no scope open: the caller's
        Tensor fromOuter;
        try (TensorScope outer = TensorScope.open()) {
            fromOuter = temp();
            assertThat(outer.size()).isEqualTo(1);
            try (TensorScope inner = TensorScope.open()) {
                assertThat(inner.adopt(unscoped)).isSameAs(unscoped);
                inner.adopt(fromOuter);
                assertThat(inner.size()).isEqualTo(2);
                assertThat(outer.size()).as("moved, not copied").isZero();
            }
            assertThat(isClosed(unscoped)).isTrue();
            assertThat(isClosed(fromOuter)).isTrue();
        }
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }

    @Test
    void closedScopeRefusesKeepAndAdopt() {
        TensorScope s = TensorScope.open();
        Tensor x = s.keep(temp());
        s.close();
        s.close(); // idempotent
        assertThatThrownBy(() -> s.keep(x)).isExactlyInstanceOf(CogVideoException.class)
                .hasMessage("tensor scope is closed");
        assertThatThrownBy(() -> s.adopt(x)).isExactlyInstanceOf(CogVideoException.class)
                .hasMessage("tensor scope is closed");
        x.close();
    }

    @Test
    void scopesCloseInnermostFirst() {
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        assertThatThrownBy(outer::close).isExactlyInstanceOf(CogVideoException.class)
                .hasMessage("tensor scopes must be closed innermost first, on the thread that opened them");
        inner.close();
        outer.close();
        // the thread has no scope left: a new temporary is the caller's
        Tensor t = temp();
        assertThat(backend.liveTemporaries()).isEqualTo(1);
        t.close();
    }

    @Test
    void aScopeBelongsToItsThread() throws Exception {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = temp();
            Throwable error = CompletableFuture.supplyAsync(() -> {
                try {
                    s.keep(x);
                    return null;
                } catch (RuntimeException e) {
                    return (Throwable) e;
                }
            }).get();
            assertThat(error).isExactlyInstanceOf(CogVideoException.class)
                    .hasMessageStartingWith("tensor scope used from ").hasMessageContaining(" but opened on ");
            // temporaries made on another thread do not join this thread's scope
            Tensor other = CompletableFuture.supplyAsync(this::temp).get();
            assertThat(s.size()).isEqualTo(1);
            other.close();
        }
        assertThat(backend.liveTemporaries()).as(backend.leakReport()).isZero();
    }
}
