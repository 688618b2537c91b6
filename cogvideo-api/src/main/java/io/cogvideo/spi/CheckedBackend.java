package io.cogvideo.spi;

import io.cogvideo.CogVideoException;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one checking layer of the SPI: a decorator that validates every argument of every primitive and op-pack call
 * (rank, shapes, dtype, owner, closed) before the wrapped backend sees it, so that a model bug gives the same
 * exception on every backend and backends carry no validation code of their own. It also keeps tensor lifetimes
 * honest on every backend, including those whose {@code close()} frees nothing: using a closed tensor throws, new
 * temporaries join the thread's {@link TensorScope}, and in debug mode ({@code -Dcogvideo.debugTensors=true}, on in
 * the project's tests) every live temporary is tracked with the stack that made it, so a leak can be reported.
 *
 * <p>{@link Backends#create} returns backends wrapped in this class. Thread-safe if the wrapped backend is.
 */
public final class CheckedBackend implements Backend {
    /** System property that turns on leak tracking with creation stacks. */
    public static final String DEBUG_PROPERTY = "cogvideo.debugTensors";

    private final Backend raw;
    private final boolean debug;
    private final AtomicLong liveTemporaries = new AtomicLong();
    private final Set<Handle> tracked = ConcurrentHashMap.newKeySet();
    private final FusedAttention fusedAttention;
    private final LocalAttention localAttention;
    private final VqVaeOps vqVaeOps;
    private final TrainingOps trainingOps;
    private final VqVaeTrainingOps vqVaeTrainingOps;
    private volatile boolean closed;

    private CheckedBackend(Backend raw, boolean debug) {
        this.raw = raw;
        this.debug = debug;
        this.fusedAttention = raw.find(FusedAttention.class).map(CheckedFusedAttention::new).orElse(null);
        this.localAttention = raw.find(LocalAttention.class).map(CheckedLocalAttention::new).orElse(null);
        this.vqVaeOps = raw.find(VqVaeOps.class).map(CheckedVqVaeOps::new).orElse(null);
        this.trainingOps = raw.find(TrainingOps.class).map(CheckedTrainingOps::new).orElse(null);
        this.vqVaeTrainingOps = raw.find(VqVaeTrainingOps.class).map(CheckedVqVaeTrainingOps::new).orElse(null);
    }

    /** Wraps {@code backend} (once: a checked backend is returned as it is); debug mode from the system property. */
    public static CheckedBackend wrap(Backend backend) {
        return wrap(backend, Boolean.getBoolean(DEBUG_PROPERTY));
    }

    /** Wraps {@code backend} with leak tracking on or off. */
    public static CheckedBackend wrap(Backend backend, boolean debug) {
        if (backend instanceof CheckedBackend c) {
            return c;
        }
        if (backend == null) {
            throw new CogVideoException("backend must not be null");
        }
        return new CheckedBackend(backend, debug);
    }

    /** The wrapped backend. */
    public Backend unwrap() {
        return raw;
    }

    /** Whether leak tracking is on. */
    public boolean debug() {
        return debug;
    }

    /** Temporaries (results of operations and {@link #fromFloats}) made and not yet closed. */
    public long liveTemporaries() {
        return liveTemporaries.get();
    }

    /**
     * In debug mode, one line per live temporary with the place that made it; otherwise just the count.
     */
    public String leakReport() {
        if (!debug) {
            return liveTemporaries() + " live temporaries (turn on -D" + DEBUG_PROPERTY + "=true for their origins)";
        }
        StringBuilder sb = new StringBuilder(tracked.size() + " live temporaries:");
        for (Handle h : tracked) {
            sb.append("\n  ").append(Arrays.toString(h.shape)).append(" made at");
            StackTraceElement[] st = h.origin.getStackTrace();
            for (int i = 0; i < Math.min(st.length, 6); i++) {
                sb.append("\n      ").append(st[i]);
            }
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- handles

    private enum Kind { WEIGHT, CACHE, TEMPORARY }

    /** A tensor of this backend: the raw tensor, its shape, and whether it was closed. */
    private final class Handle implements Tensor {
        final Tensor raw;
        final int[] shape;
        final DType dtype;
        final Kind kind;
        final Throwable origin;
        private volatile boolean closed;

        Handle(Tensor raw, Kind kind) {
            this.raw = raw;
            this.shape = raw.shape();
            this.dtype = raw.dtype();
            this.kind = kind;
            this.origin = debug && kind == Kind.TEMPORARY ? new Throwable("tensor made here") : null;
        }

        CheckedBackend owner() {
            return CheckedBackend.this;
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        @Override
        public int dim(int axis) {
            return shape[axis < 0 ? shape.length + axis : axis];
        }

        @Override
        public DType dtype() {
            return dtype;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (kind == Kind.TEMPORARY) {
                liveTemporaries.decrementAndGet();
                if (debug) {
                    tracked.remove(this);
                }
            }
            raw.close();
        }

        @Override
        public String toString() {
            return dtype + Arrays.toString(shape) + (closed ? " (closed)" : "");
        }
    }

    private Tensor wrapNew(Tensor t, Kind kind) {
        Handle h = new Handle(t, kind);
        if (kind == Kind.TEMPORARY) {
            liveTemporaries.incrementAndGet();
            if (debug) {
                tracked.add(h);
            }
            TensorScope.register(h);
        }
        return h;
    }

    private Tensor temp(Tensor t) {
        return wrapNew(t, Kind.TEMPORARY);
    }

    /** The raw tensor behind {@code t}, after checking it belongs to this backend and is open. */
    private Tensor in(String op, String arg, Tensor t) {
        return handle(op, arg, t).raw;
    }

    private Handle handle(String op, String arg, Tensor t) {
        checkOpen();
        if (t == null) {
            throw fail(op, arg + " must not be null");
        }
        if (!(t instanceof Handle h) || h.owner() != this) {
            throw fail(op, arg + " belongs to another backend (" + t.getClass().getSimpleName() + ")");
        }
        if (h.closed) {
            throw fail(op, arg + " " + Arrays.toString(h.shape) + " is closed");
        }
        return h;
    }

    private Tensor inOrNull(String op, String arg, Tensor t) {
        return t == null ? null : in(op, arg, t);
    }

    private void checkOpen() {
        if (closed) {
            throw new CogVideoException("backend '" + raw.name() + "' is closed");
        }
    }

    private static CogVideoException fail(String op, String message) {
        return new CogVideoException(op + ": " + message);
    }

    private static void rank(String op, String arg, Tensor t, int rank) {
        if (t.shape().length != rank) {
            throw fail(op, arg + " must have rank " + rank + ", got " + Arrays.toString(t.shape()));
        }
    }

    private static void vector(String op, String arg, Tensor t, int length) {
        int[] s = t.shape();
        if (s.length != 1 || s[0] != length) {
            throw fail(op, arg + " must be a vector of " + length + ", got " + Arrays.toString(s));
        }
    }

    private static void sameShape(String op, String a, Tensor x, String b, Tensor y) {
        if (!Arrays.equals(x.shape(), y.shape())) {
            throw fail(op, a + " " + Arrays.toString(x.shape()) + " and " + b + " " + Arrays.toString(y.shape())
                    + " must have the same shape");
        }
    }

    private static void checkShape(String op, int[] shape) {
        if (shape == null || shape.length == 0) {
            throw fail(op, "shape must have at least one dimension");
        }
        long n = 1;
        for (int d : shape) {
            if (d < 1) {
                throw fail(op, "dimensions must be >= 1, got " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw fail(op, "shape " + Arrays.toString(shape) + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
    }

    private static void axis(String op, Tensor t, int axis) {
        int r = t.shape().length;
        if (axis < 0 || axis >= r) {
            throw fail(op, "axis " + axis + " outside [0, " + r + ") for " + Arrays.toString(t.shape()));
        }
    }

    /** Shapes equal on every axis but {@code axis}. */
    private static void sameExcept(String op, Tensor a, Tensor b, int axis) {
        int[] x = a.shape();
        int[] y = b.shape();
        boolean ok = x.length == y.length;
        for (int i = 0; ok && i < x.length; i++) {
            ok = i == axis || x[i] == y[i];
        }
        if (!ok) {
            throw fail(op, Arrays.toString(x) + " and " + Arrays.toString(y) + " must agree on every axis but " + axis);
        }
    }

    // ---------------------------------------------------------------- primitive layer

    @Override
    public String name() {
        return raw.name();
    }

    @Override
    public String description() {
        return raw.description();
    }

    @Override
    public Tensor fromFloats(float[] values, int... shape) {
        checkOpen();
        checkShape("fromFloats", shape);
        if (values == null || values.length != TensorData.numel(shape)) {
            throw fail("fromFloats", (values == null ? "null values" : values.length + " values") + " for shape "
                    + Arrays.toString(shape));
        }
        return temp(raw.fromFloats(values, shape));
    }

    @Override
    public Tensor upload(TensorData data, WeightUse use) {
        checkOpen();
        if (data == null || use == null) {
            throw fail("upload", "data and use must not be null");
        }
        if (!data.dtype().isFloatingPoint()) {
            throw fail("upload", "tensor '" + data.name() + "' has dtype " + data.dtype() + "; weights must be float");
        }
        checkShape("upload '" + data.name() + "'", data.shape());
        if (use == WeightUse.LINEAR && data.shape().length != 2) {
            throw fail("upload", "linear weight '" + data.name() + "' must have rank 2, got "
                    + Arrays.toString(data.shape()));
        }
        return wrapNew(raw.upload(data, use), Kind.WEIGHT);
    }

    @Override
    public Tensor cache(DType dtype, int... shape) {
        checkOpen();
        if (dtype == null || !dtype.isFloatingPoint()) {
            throw fail("cache", "dtype must be a floating-point type, got " + dtype);
        }
        checkShape("cache", shape);
        if (shape.length != 3) {
            throw fail("cache", "shape must be [batch, rows, columns], got " + Arrays.toString(shape));
        }
        Tensor c = raw.cache(dtype, shape);
        if (c.dtype().byteSize() < dtype.byteSize() || !c.dtype().isFloatingPoint()) {
            c.close();
            throw fail("cache", "backend '" + raw.name() + "' made a " + c.dtype() + " cache for a " + dtype
                    + " request; a backend may widen a cache, never narrow it");
        }
        return wrapNew(c, Kind.CACHE);
    }

    @Override
    public float[] toFloats(Tensor t) {
        return raw.toFloats(in("toFloats", "tensor", t));
    }

    @Override
    public Tensor gatherRows(Tensor table, int[] rows, int batch) {
        String op = "gatherRows";
        Tensor tr = in(op, "table", table);
        rank(op, "table", table, 2);
        if (rows == null || rows.length == 0 || batch < 1 || rows.length % batch != 0) {
            throw fail(op, (rows == null ? "null" : rows.length) + " rows cannot be split into " + batch + " batches");
        }
        int v = table.dim(0);
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0 || rows[i] >= v) {
                throw fail(op, "row " + rows[i] + " at index " + i + " outside [0, " + v + ")");
            }
        }
        return temp(raw.gatherRows(tr, rows, batch));
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        String op = "linear";
        Tensor xr = in(op, "x", x);
        Tensor wr = in(op, "weight", weight);
        Tensor br = inOrNull(op, "bias", bias);
        rank(op, "x", x, 3);
        rank(op, "weight", weight, 2);
        if (x.dim(2) != weight.dim(1)) {
            throw fail(op, "x " + Arrays.toString(x.shape()) + " has " + x.dim(2) + " columns but weight "
                    + Arrays.toString(weight.shape()) + " takes " + weight.dim(1));
        }
        if (bias != null) {
            vector(op, "bias", bias, weight.dim(0));
        }
        return temp(raw.linear(xr, wr, br));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        String op = "layerNorm";
        Tensor xr = in(op, "x", x);
        Tensor gr = in(op, "gamma", gamma);
        Tensor br = in(op, "beta", beta);
        int h = x.dim(-1);
        vector(op, "gamma", gamma, h);
        vector(op, "beta", beta, h);
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw fail(op, "eps must be a positive finite number, got " + eps);
        }
        return temp(raw.layerNorm(xr, gr, br, eps));
    }

    @Override
    public Tensor gelu(Tensor x) {
        return temp(raw.gelu(in("gelu", "x", x)));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        String op = "add";
        Tensor ar = in(op, "a", a);
        Tensor br = in(op, "b", b);
        int[] x = a.shape();
        int[] y = b.shape();
        boolean ok = x.length == y.length && (y[0] == x[0] || y[0] == 1);
        for (int i = 1; ok && i < x.length; i++) {
            ok = x[i] == y[i];
        }
        if (!ok) {
            throw fail(op, "b " + Arrays.toString(y) + " must have the shape of a " + Arrays.toString(x)
                    + " (or batch 1)");
        }
        return temp(raw.add(ar, br));
    }

    @Override
    public Tensor slice(Tensor x, int axis, int start, int length) {
        String op = "slice";
        Tensor xr = in(op, "x", x);
        axis(op, x, axis);
        int d = x.dim(axis);
        if (start < 0 || length < 1 || (long) start + length > d) {
            throw fail(op, "[" + start + ", " + ((long) start + length) + ") outside [0, " + d + ") on axis " + axis
                    + " of " + Arrays.toString(x.shape()));
        }
        return temp(raw.slice(xr, axis, start, length));
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        String op = "concat";
        if (parts == null || parts.length == 0) {
            throw fail(op, "needs at least one tensor");
        }
        Tensor[] rs = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) {
            rs[i] = in(op, "part " + i, parts[i]);
        }
        axis(op, parts[0], axis);
        long total = 0;
        for (Tensor p : parts) {
            sameExcept(op, parts[0], p, axis);
            total += p.dim(axis);
        }
        if (total > Integer.MAX_VALUE) {
            throw fail(op, "result too large on axis " + axis);
        }
        return temp(raw.concat(axis, rs));
    }

    @Override
    public void write(Tensor dst, int axis, int offset, Tensor src) {
        String op = "write";
        Tensor dr = in(op, "dst", dst);
        Tensor sr = in(op, "src", src);
        axis(op, dst, axis);
        sameExcept(op, dst, src, axis);
        if (offset < 0 || (long) offset + src.dim(axis) > dst.dim(axis)) {
            throw fail(op, src.dim(axis) + " rows at offset " + offset + " do not fit axis " + axis + " of "
                    + Arrays.toString(dst.shape()));
        }
        raw.write(dr, axis, offset, sr);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <P extends OpPack> Optional<P> find(Class<P> pack) {
        Object p;
        if (pack == FusedAttention.class) {
            p = fusedAttention;
        } else if (pack == LocalAttention.class) {
            p = localAttention;
        } else if (pack == VqVaeOps.class) {
            p = vqVaeOps;
        } else if (pack == TrainingOps.class) {
            p = trainingOps;
        } else if (pack == VqVaeTrainingOps.class) {
            p = vqVaeTrainingOps;
        } else if (raw.find(pack).isPresent()) {
            throw new CogVideoException("op pack " + pack.getName() + " has no checking layer in CheckedBackend; "
                    + "add one before using it");
        } else {
            p = null;
        }
        return Optional.ofNullable((P) p);
    }

    /** Closes the wrapped backend. Tensors of this backend cannot be used afterwards. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            raw.close();
        }
    }

    @Override
    public String toString() {
        return "checked " + raw.name() + " backend";
    }

    // ---------------------------------------------------------------- op packs

    private final class CheckedFusedAttention implements FusedAttention {
        private final FusedAttention p;

        CheckedFusedAttention(FusedAttention p) {
            this.p = p;
        }

        @Override
        public Tensor attention(Tensor q, Tensor k, Tensor v, int keyLength, AttentionMask mask) {
            String op = "attention";
            Tensor qr = in(op, "q", q);
            Tensor kr = in(op, "k", k);
            Tensor vr = in(op, "v", v);
            rank(op, "q", q, 3);
            rank(op, "k", k, 3);
            sameShape(op, "k", k, "v", v);
            if (mask == null) {
                throw fail(op, "mask must not be null");
            }
            if (mask.interpolation()) {
                throw fail(op, "the stage-2 training interpolation mask (AttentionMask.interpolation() = true) is only"
                        + " computed by the TrainingOps pack (attentionForward); inference attention does not"
                        + " support it");
            }
            if (q.dim(0) != k.dim(0) || q.dim(2) != k.dim(2)) {
                throw fail(op, "q " + Arrays.toString(q.shape()) + " and k " + Arrays.toString(k.shape())
                        + " must agree on batch and width");
            }
            if (q.dim(2) % mask.heads() != 0) {
                throw fail(op, "width " + q.dim(2) + " is not a multiple of " + mask.heads() + " heads");
            }
            if (keyLength < 1 || keyLength > k.dim(1) || keyLength < mask.textLength()) {
                throw fail(op, "keyLength " + keyLength + " outside [max(1, text " + mask.textLength() + "), "
                        + k.dim(1) + "]");
            }
            if (mask.queriesIncludeText() && q.dim(1) < mask.textLength()) {
                throw fail(op, q.dim(1) + " query rows cannot hold the " + mask.textLength() + " text queries");
            }
            return temp(p.attention(qr, kr, vr, keyLength, mask));
        }

        @Override
        public Tensor channelMix(Tensor base, Tensor plus, Tensor mixLogits) {
            String op = "channelMix";
            Tensor br = in(op, "base", base);
            Tensor pr = in(op, "plus", plus);
            Tensor mr = in(op, "mixLogits", mixLogits);
            sameShape(op, "base", base, "plus", plus);
            vector(op, "mixLogits", mixLogits, base.dim(-1));
            return temp(p.channelMix(br, pr, mr));
        }
    }

    private final class CheckedLocalAttention implements LocalAttention {
        private final LocalAttention p;

        CheckedLocalAttention(LocalAttention p) {
            this.p = p;
        }

        @Override
        public Tensor localAttention(Tensor q, Tensor kFine, Tensor vFine, Tensor kCoarse, Tensor vCoarse,
                LocalAttentionSpec spec) {
            String op = "localAttention";
            Tensor qr = in(op, "q", q);
            Tensor kf = in(op, "kFine", kFine);
            Tensor vf = in(op, "vFine", vFine);
            Tensor kc = in(op, "kCoarse", kCoarse);
            Tensor vc = in(op, "vCoarse", vCoarse);
            if (spec == null) {
                throw fail(op, "spec must not be null");
            }
            rank(op, "q", q, 3);
            sameShape(op, "q", q, "kFine", kFine);
            sameShape(op, "q", q, "vFine", vFine);
            sameShape(op, "kCoarse", kCoarse, "vCoarse", vCoarse);
            rank(op, "kCoarse", kCoarse, 3);
            int fine = spec.fineGrid() * spec.fineGrid();
            int coarse = spec.coarseGrid() * spec.coarseGrid();
            if (q.dim(1) != fine || kCoarse.dim(1) != coarse || q.dim(0) != kCoarse.dim(0)
                    || q.dim(2) != kCoarse.dim(2) || q.dim(2) % spec.heads() != 0) {
                throw fail(op, "q " + Arrays.toString(q.shape()) + " and kCoarse " + Arrays.toString(kCoarse.shape())
                        + " do not fit " + spec);
            }
            return temp(p.localAttention(qr, kf, vf, kc, vc, spec));
        }
    }

    private final class CheckedVqVaeOps implements VqVaeOps {
        private final VqVaeOps p;

        CheckedVqVaeOps(VqVaeOps p) {
            this.p = p;
        }

        @Override
        public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padTop, int padBottom,
                int padLeft, int padRight) {
            String op = "conv2d";
            Tensor xr = in(op, "x", x);
            Tensor wr = in(op, "weight", weight);
            Tensor br = inOrNull(op, "bias", bias);
            rank(op, "x", x, 4);
            rank(op, "weight", weight, 4);
            if (x.dim(1) != weight.dim(1)) {
                throw fail(op, "x " + Arrays.toString(x.shape()) + " has " + x.dim(1) + " channels but weight "
                        + Arrays.toString(weight.shape()) + " takes " + weight.dim(1));
            }
            if (bias != null) {
                vector(op, "bias", bias, weight.dim(0));
            }
            if (stride < 1 || padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
                throw fail(op, "stride must be >= 1 and padding >= 0, got stride " + stride + ", padding "
                        + padTop + "/" + padBottom + "/" + padLeft + "/" + padRight);
            }
            long h = (long) x.dim(2) + padTop + padBottom - weight.dim(2);
            long w = (long) x.dim(3) + padLeft + padRight - weight.dim(3);
            if (h < 0 || w < 0) {
                throw fail(op, "kernel " + Arrays.toString(weight.shape()) + " is larger than the padded input "
                        + Arrays.toString(x.shape()));
            }
            return temp(p.conv2d(xr, wr, br, stride, padTop, padBottom, padLeft, padRight));
        }

        @Override
        public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
            Tensor[] r = groupNormArgs("groupNorm", x, groups, gamma, beta, eps);
            return temp(p.groupNorm(r[0], groups, r[1], r[2], eps));
        }

        @Override
        public Tensor groupNormSwish(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
            Tensor[] r = groupNormArgs("groupNormSwish", x, groups, gamma, beta, eps);
            return temp(p.groupNormSwish(r[0], groups, r[1], r[2], eps));
        }

        private Tensor[] groupNormArgs(String op, Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
            Tensor xr = in(op, "x", x);
            Tensor gr = in(op, "gamma", gamma);
            Tensor br = in(op, "beta", beta);
            rank(op, "x", x, 4);
            if (groups < 1 || x.dim(1) % groups != 0) {
                throw fail(op, x.dim(1) + " channels cannot be split into " + groups + " groups");
            }
            vector(op, "gamma", gamma, x.dim(1));
            vector(op, "beta", beta, x.dim(1));
            if (!(eps > 0) || !Float.isFinite(eps)) {
                throw fail(op, "eps must be a positive finite number, got " + eps);
            }
            return new Tensor[] {xr, gr, br};
        }

        @Override
        public Tensor swish(Tensor x) {
            return temp(p.swish(in("swish", "x", x)));
        }

        @Override
        public Tensor upsampleNearest2x(Tensor x) {
            Tensor xr = in("upsampleNearest2x", "x", x);
            rank("upsampleNearest2x", "x", x, 4);
            return temp(p.upsampleNearest2x(xr));
        }

        @Override
        public Tensor avgPool2x2(Tensor x) {
            Tensor xr = in("avgPool2x2", "x", x);
            rank("avgPool2x2", "x", x, 4);
            if (x.dim(2) < 2 || x.dim(3) < 2) {
                throw fail("avgPool2x2", "x " + Arrays.toString(x.shape()) + " must be at least 2x2");
            }
            return temp(p.avgPool2x2(xr));
        }

        @Override
        public Tensor spatialAttention(Tensor q, Tensor k, Tensor v) {
            String op = "spatialAttention";
            Tensor qr = in(op, "q", q);
            Tensor kr = in(op, "k", k);
            Tensor vr = in(op, "v", v);
            rank(op, "q", q, 4);
            sameShape(op, "q", q, "k", k);
            sameShape(op, "q", q, "v", v);
            return temp(p.spatialAttention(qr, kr, vr));
        }

        @Override
        public int[] codebookNearest(Tensor z, Tensor codebook) {
            String op = "codebookNearest";
            Tensor zr = in(op, "z", z);
            Tensor cr = in(op, "codebook", codebook);
            rank(op, "z", z, 4);
            rank(op, "codebook", codebook, 2);
            if (z.dim(1) != codebook.dim(1)) {
                throw fail(op, "z " + Arrays.toString(z.shape()) + " has " + z.dim(1) + " channels but codebook "
                        + Arrays.toString(codebook.shape()) + " has vectors of " + codebook.dim(1));
            }
            return p.codebookNearest(zr, cr);
        }

        @Override
        public Tensor codebookLookup(Tensor codebook, int[] ids, int batch, int height, int width) {
            String op = "codebookLookup";
            Tensor cr = in(op, "codebook", codebook);
            rank(op, "codebook", codebook, 2);
            if (batch < 1 || height < 1 || width < 1) {
                throw fail(op, "batch, height and width must be >= 1, got " + batch + ", " + height + ", " + width);
            }
            long n = (long) batch * height * width;
            if (ids == null || ids.length != n) {
                throw fail(op, (ids == null ? "null" : ids.length) + " ids for " + batch + "x" + height + "x" + width);
            }
            int k = codebook.dim(0);
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= k) {
                    throw fail(op, "id " + ids[i] + " at index " + i + " outside the codebook [0, " + k + ")");
                }
            }
            return temp(p.codebookLookup(cr, ids, batch, height, width));
        }
    }

    private final class CheckedTrainingOps implements TrainingOps {
        private final TrainingOps p;

        CheckedTrainingOps(TrainingOps p) {
            this.p = p;
        }

        private Tensor tempOrNull(Tensor t) {
            return t == null ? null : temp(t);
        }

        /** Activations: rank >= 2, last axis the feature axis. */
        private void activation(String op, String arg, Tensor t) {
            if (t.shape().length < 2) {
                throw fail(op, arg + " must have rank >= 2 ([..., rows, columns]), got " + Arrays.toString(t.shape()));
            }
        }

        @Override
        public Tensor gatherRowsBackward(Tensor dOut, int[] rows, int tableRows) {
            String op = "gatherRowsBackward";
            Tensor dr = in(op, "dOut", dOut);
            rank(op, "dOut", dOut, 3);
            if (rows == null || rows.length != dOut.dim(0) * dOut.dim(1)) {
                throw fail(op, (rows == null ? "null" : rows.length) + " rows for dOut " + Arrays.toString(dOut.shape())
                        + " (need batch * rows = " + dOut.dim(0) * dOut.dim(1) + ")");
            }
            if (tableRows < 1) {
                throw fail(op, "tableRows must be >= 1, got " + tableRows);
            }
            for (int i = 0; i < rows.length; i++) {
                if (rows[i] < 0 || rows[i] >= tableRows) {
                    throw fail(op, "row " + rows[i] + " at index " + i + " outside [0, " + tableRows + ")");
                }
            }
            return temp(p.gatherRowsBackward(dr, rows, tableRows));
        }

        @Override
        public LinearGrads linearBackward(Tensor x, Tensor weight, Tensor dY, boolean weightGrads, boolean hasBias) {
            String op = "linearBackward";
            Tensor xr = in(op, "x", x);
            Tensor wr = in(op, "weight", weight);
            Tensor dr = in(op, "dY", dY);
            rank(op, "x", x, 3);
            rank(op, "weight", weight, 2);
            rank(op, "dY", dY, 3);
            if (x.dim(2) != weight.dim(1)) {
                throw fail(op, "x " + Arrays.toString(x.shape()) + " has " + x.dim(2) + " columns but weight "
                        + Arrays.toString(weight.shape()) + " takes " + weight.dim(1));
            }
            if (dY.dim(0) != x.dim(0) || dY.dim(1) != x.dim(1) || dY.dim(2) != weight.dim(0)) {
                throw fail(op, "dY " + Arrays.toString(dY.shape()) + " must be [" + x.dim(0) + ", " + x.dim(1) + ", "
                        + weight.dim(0) + "] for x " + Arrays.toString(x.shape()) + " and weight "
                        + Arrays.toString(weight.shape()));
            }
            LinearGrads g = p.linearBackward(xr, wr, dr, weightGrads, hasBias);
            return new LinearGrads(temp(g.dX()), tempOrNull(g.dWeight()), tempOrNull(g.dBias()));
        }

        @Override
        public LayerNormGrads layerNormBackward(Tensor x, Tensor gamma, Tensor dY, float eps) {
            String op = "layerNormBackward";
            Tensor xr = in(op, "x", x);
            Tensor gr = in(op, "gamma", gamma);
            Tensor dr = in(op, "dY", dY);
            activation(op, "x", x);
            sameShape(op, "x", x, "dY", dY);
            vector(op, "gamma", gamma, x.dim(-1));
            if (!(eps > 0) || !Float.isFinite(eps)) {
                throw fail(op, "eps must be a positive finite number, got " + eps);
            }
            LayerNormGrads g = p.layerNormBackward(xr, gr, dr, eps);
            return new LayerNormGrads(temp(g.dX()), temp(g.dGamma()), temp(g.dBeta()));
        }

        @Override
        public Tensor geluBackward(Tensor x, Tensor dY) {
            String op = "geluBackward";
            Tensor xr = in(op, "x", x);
            Tensor dr = in(op, "dY", dY);
            sameShape(op, "x", x, "dY", dY);
            return temp(p.geluBackward(xr, dr));
        }

        @Override
        public ChannelMixGrads channelMixBackward(Tensor base, Tensor plus, Tensor mixLogits, Tensor dOut) {
            String op = "channelMixBackward";
            Tensor br = in(op, "base", base);
            Tensor pr = in(op, "plus", plus);
            Tensor mr = in(op, "mixLogits", mixLogits);
            Tensor dr = in(op, "dOut", dOut);
            activation(op, "base", base);
            sameShape(op, "base", base, "plus", plus);
            sameShape(op, "base", base, "dOut", dOut);
            vector(op, "mixLogits", mixLogits, base.dim(-1));
            ChannelMixGrads g = p.channelMixBackward(br, pr, mr, dr);
            return new ChannelMixGrads(temp(g.dBase()), temp(g.dPlus()), temp(g.dMixLogits()));
        }

        private void attentionArgs(String op, Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout) {
            rank(op, "q", q, 3);
            rank(op, "k", k, 3);
            sameShape(op, "k", k, "v", v);
            if (mask == null || dropout == null) {
                throw fail(op, "mask and dropout must not be null (use Dropout.NONE)");
            }
            if (q.dim(0) != k.dim(0) || q.dim(2) != k.dim(2)) {
                throw fail(op, "q " + Arrays.toString(q.shape()) + " and k " + Arrays.toString(k.shape())
                        + " must agree on batch and width");
            }
            if (q.dim(2) % mask.heads() != 0) {
                throw fail(op, "width " + q.dim(2) + " is not a multiple of " + mask.heads() + " heads");
            }
            if (k.dim(1) < mask.textLength()) {
                throw fail(op, k.dim(1) + " key rows cannot hold the " + mask.textLength() + " text keys");
            }
            if (mask.queriesIncludeText() && q.dim(1) < mask.textLength()) {
                throw fail(op, q.dim(1) + " query rows cannot hold the " + mask.textLength() + " text queries");
            }
        }

        @Override
        public AttentionForward attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout) {
            String op = "attentionForward";
            Tensor qr = in(op, "q", q);
            Tensor kr = in(op, "k", k);
            Tensor vr = in(op, "v", v);
            attentionArgs(op, q, k, v, mask, dropout);
            AttentionForward f = p.attentionForward(qr, kr, vr, mask, dropout);
            return new AttentionForward(temp(f.out()), temp(f.logSumExp()));
        }

        @Override
        public AttentionGrads attentionBackward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Dropout dropout,
                AttentionForward forward, Tensor dOut) {
            String op = "attentionBackward";
            Tensor qr = in(op, "q", q);
            Tensor kr = in(op, "k", k);
            Tensor vr = in(op, "v", v);
            attentionArgs(op, q, k, v, mask, dropout);
            if (forward == null) {
                throw fail(op, "forward must not be null");
            }
            Tensor or = in(op, "forward.out", forward.out());
            Tensor lr = in(op, "forward.logSumExp", forward.logSumExp());
            Tensor dr = in(op, "dOut", dOut);
            sameShape(op, "q", q, "forward.out", forward.out());
            sameShape(op, "q", q, "dOut", dOut);
            int[] lse = forward.logSumExp().shape();
            if (!Arrays.equals(lse, new int[] {q.dim(0), mask.heads(), q.dim(1)})) {
                throw fail(op, "forward.logSumExp " + Arrays.toString(lse) + " must be [" + q.dim(0) + ", "
                        + mask.heads() + ", " + q.dim(1) + "]");
            }
            AttentionGrads g = p.attentionBackward(qr, kr, vr, mask, dropout, new AttentionForward(or, lr), dr);
            return new AttentionGrads(temp(g.dQ()), temp(g.dK()), temp(g.dV()));
        }

        @Override
        public CrossEntropy crossEntropy(Tensor x, Tensor head, int[] labels, float[] weights) {
            String op = "crossEntropy";
            Tensor xr = in(op, "x", x);
            Tensor hr = in(op, "head", head);
            rank(op, "x", x, 3);
            rank(op, "head", head, 2);
            if (x.dim(2) != head.dim(1)) {
                throw fail(op, "x " + Arrays.toString(x.shape()) + " has " + x.dim(2) + " columns but head "
                        + Arrays.toString(head.shape()) + " has rows of " + head.dim(1));
            }
            int n = x.dim(0) * x.dim(1);
            if (labels == null || labels.length != n || weights == null || weights.length != n) {
                throw fail(op, "need " + n + " labels and weights for x " + Arrays.toString(x.shape()) + ", got "
                        + (labels == null ? "null" : labels.length) + " and "
                        + (weights == null ? "null" : weights.length));
            }
            int vocab = head.dim(0);
            for (int i = 0; i < n; i++) {
                if (labels[i] < 0 || labels[i] >= vocab) {
                    throw fail(op, "label " + labels[i] + " at index " + i + " outside the head's [0, " + vocab + ")");
                }
                if (!Float.isFinite(weights[i])) {
                    throw fail(op, "weight " + weights[i] + " at index " + i + " is not finite");
                }
            }
            CrossEntropy c = p.crossEntropy(xr, hr, labels, weights);
            return new CrossEntropy(c.losses(), temp(c.dX()), temp(c.dHead()));
        }

        @Override
        public Tensor dropout(Tensor x, Dropout dropout) {
            String op = "dropout";
            Tensor xr = in(op, "x", x);
            if (dropout == null) {
                throw fail(op, "dropout must not be null (use Dropout.NONE)");
            }
            return temp(p.dropout(xr, dropout));
        }
    }

    private final class CheckedVqVaeTrainingOps implements VqVaeTrainingOps {
        private final VqVaeTrainingOps p;

        CheckedVqVaeTrainingOps(VqVaeTrainingOps p) {
            this.p = p;
        }

        private Tensor tempOrNull(Tensor t) {
            return t == null ? null : temp(t);
        }

        private static void eps(String op, float eps) {
            if (!(eps > 0) || !Float.isFinite(eps)) {
                throw fail(op, "eps must be a positive finite number, got " + eps);
            }
        }

        @Override
        public Conv2dGrads conv2dBackward(Tensor x, Tensor weight, Tensor dY, int stride, int padTop, int padBottom,
                int padLeft, int padRight, boolean inputGrad, boolean hasBias) {
            String op = "conv2dBackward";
            Tensor xr = in(op, "x", x);
            Tensor wr = in(op, "weight", weight);
            Tensor dr = in(op, "dY", dY);
            rank(op, "x", x, 4);
            rank(op, "weight", weight, 4);
            rank(op, "dY", dY, 4);
            if (x.dim(1) != weight.dim(1)) {
                throw fail(op, "x " + Arrays.toString(x.shape()) + " has " + x.dim(1) + " channels but weight "
                        + Arrays.toString(weight.shape()) + " takes " + weight.dim(1));
            }
            if (stride < 1 || padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
                throw fail(op, "stride must be >= 1 and padding >= 0, got stride " + stride + ", padding "
                        + padTop + "/" + padBottom + "/" + padLeft + "/" + padRight);
            }
            long h = (long) x.dim(2) + padTop + padBottom - weight.dim(2);
            long w = (long) x.dim(3) + padLeft + padRight - weight.dim(3);
            if (h < 0 || w < 0) {
                throw fail(op, "kernel " + Arrays.toString(weight.shape()) + " is larger than the padded input "
                        + Arrays.toString(x.shape()));
            }
            int[] want = {x.dim(0), weight.dim(0), (int) (h / stride + 1), (int) (w / stride + 1)};
            if (!Arrays.equals(dY.shape(), want)) {
                throw fail(op, "dY " + Arrays.toString(dY.shape()) + " must be " + Arrays.toString(want)
                        + ", the output of x " + Arrays.toString(x.shape()) + " and weight "
                        + Arrays.toString(weight.shape()) + " at stride " + stride + ", padding " + padTop + "/"
                        + padBottom + "/" + padLeft + "/" + padRight);
            }
            Conv2dGrads g = p.conv2dBackward(xr, wr, dr, stride, padTop, padBottom, padLeft, padRight, inputGrad,
                    hasBias);
            return new Conv2dGrads(tempOrNull(g.dX()), temp(g.dWeight()), tempOrNull(g.dBias()));
        }

        @Override
        public GroupNormGrads groupNormBackward(Tensor x, int groups, Tensor gamma, Tensor dY, float eps) {
            String op = "groupNormBackward";
            Tensor xr = in(op, "x", x);
            Tensor gr = in(op, "gamma", gamma);
            Tensor dr = in(op, "dY", dY);
            rank(op, "x", x, 4);
            if (groups < 1 || x.dim(1) % groups != 0) {
                throw fail(op, x.dim(1) + " channels cannot be split into " + groups + " groups");
            }
            vector(op, "gamma", gamma, x.dim(1));
            sameShape(op, "x", x, "dY", dY);
            eps(op, eps);
            GroupNormGrads g = p.groupNormBackward(xr, groups, gr, dr, eps);
            return new GroupNormGrads(temp(g.dX()), temp(g.dGamma()), temp(g.dBeta()));
        }

        @Override
        public Tensor swishBackward(Tensor x, Tensor dY) {
            String op = "swishBackward";
            Tensor xr = in(op, "x", x);
            Tensor dr = in(op, "dY", dY);
            sameShape(op, "x", x, "dY", dY);
            return temp(p.swishBackward(xr, dr));
        }

        @Override
        public Tensor upsampleNearest2xBackward(Tensor dY) {
            String op = "upsampleNearest2xBackward";
            Tensor dr = in(op, "dY", dY);
            rank(op, "dY", dY, 4);
            if (dY.dim(2) % 2 != 0 || dY.dim(3) % 2 != 0) {
                throw fail(op, "dY " + Arrays.toString(dY.shape()) + " must have an even height and width (the "
                        + "output of a 2x up-sampling)");
            }
            return temp(p.upsampleNearest2xBackward(dr));
        }

        @Override
        public Tensor avgPool2x2Backward(Tensor dY, int height, int width) {
            String op = "avgPool2x2Backward";
            Tensor dr = in(op, "dY", dY);
            rank(op, "dY", dY, 4);
            if (height < 2 || width < 2 || height / 2 != dY.dim(2) || width / 2 != dY.dim(3)) {
                throw fail(op, "dY " + Arrays.toString(dY.shape()) + " is not the pooled gradient of a " + height
                        + "x" + width + " input (need height, width >= 2 and dY [.., .., " + height / 2 + ", "
                        + width / 2 + "])");
            }
            return temp(p.avgPool2x2Backward(dr, height, width));
        }

        @Override
        public SpatialAttentionGrads spatialAttentionBackward(Tensor q, Tensor k, Tensor v, Tensor dOut) {
            String op = "spatialAttentionBackward";
            Tensor qr = in(op, "q", q);
            Tensor kr = in(op, "k", k);
            Tensor vr = in(op, "v", v);
            Tensor dr = in(op, "dOut", dOut);
            rank(op, "q", q, 4);
            sameShape(op, "q", q, "k", k);
            sameShape(op, "q", q, "v", v);
            sameShape(op, "q", q, "dOut", dOut);
            SpatialAttentionGrads g = p.spatialAttentionBackward(qr, kr, vr, dr);
            return new SpatialAttentionGrads(temp(g.dQ()), temp(g.dK()), temp(g.dV()));
        }
    }
}
