package io.cogvideo.spi;

import io.cogvideo.CogVideoException;
import java.util.ArrayList;

/**
 * An arena for temporary tensors, per thread: while a scope is open on a thread, every tensor that a
 * {@link CheckedBackend} operation or {@link Backend#fromFloats} returns on that thread is registered in it, and
 * {@link #close} releases them all, also when the code inside threw. Weights ({@link Backend#upload}) and caches
 * ({@link Backend#cache}) are never registered.
 *
 * <pre>{@code
 * try (TensorScope scope = TensorScope.open()) {
 *     scope.adopt(x);                 // x dies with this scope
 *     Tensor a = backend.layerNorm(x, g, b, eps);
 *     ...
 *     return scope.keep(result);      // result survives (moved to the enclosing scope, if any)
 * }
 * }</pre>
 *
 * Scopes nest and must be closed in reverse order of opening, on the thread that opened them (try-with-resources
 * does both). Not thread-safe: a scope belongs to its thread.
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<TensorScope> CURRENT = new ThreadLocal<>();

    private final TensorScope parent;
    private final Thread thread;
    private final ArrayList<Tensor> tensors = new ArrayList<>();
    private boolean closed;

    private TensorScope(TensorScope parent) {
        this.parent = parent;
        this.thread = Thread.currentThread();
    }

    /** Opens a scope on the current thread, nested in the one already open (if any). */
    public static TensorScope open() {
        TensorScope s = new TensorScope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** Registers a new temporary in the innermost scope of this thread, if one is open. */
    static void register(Tensor t) {
        TensorScope s = CURRENT.get();
        if (s != null) {
            s.tensors.add(t);
        }
    }

    /**
     * Takes {@code t} out of this scope so it survives {@link #close}; it moves to the enclosing scope, or, with
     * none, becomes the caller's to close.
     */
    public <T extends Tensor> T keep(T t) {
        checkOpen();
        remove(t);
        if (parent != null) {
            parent.tensors.add(t);
        }
        return t;
    }

    /** Moves {@code t} into this scope (from an enclosing one, or unscoped), so it is released with it. */
    public <T extends Tensor> T adopt(T t) {
        checkOpen();
        for (TensorScope s = this; s != null; s = s.parent) {
            if (s.remove(t)) {
                break;
            }
        }
        tensors.add(t);
        return t;
    }

    /** Tensors this scope will release. */
    public int size() {
        return tensors.size();
    }

    private boolean remove(Tensor t) {
        for (int i = tensors.size() - 1; i >= 0; i--) {
            if (tensors.get(i) == t) {
                tensors.remove(i);
                return true;
            }
        }
        return false;
    }

    private void checkOpen() {
        if (closed) {
            throw new CogVideoException("tensor scope is closed");
        }
        if (Thread.currentThread() != thread) {
            throw new CogVideoException("tensor scope used from " + Thread.currentThread().getName()
                    + " but opened on " + thread.getName());
        }
    }

    /** Releases every tensor of the scope (newest first) and makes the enclosing scope current again. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (CURRENT.get() != this) {
            throw new CogVideoException("tensor scopes must be closed innermost first, on the thread that opened them");
        }
        closed = true;
        CURRENT.set(parent);
        RuntimeException failure = null;
        for (int i = tensors.size() - 1; i >= 0; i--) {
            try {
                tensors.get(i).close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        tensors.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
