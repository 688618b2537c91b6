package io.cogvideo.checkpoint;

import io.cogvideo.spi.DType;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * Razorvine's {@link Unpickler}, restricted so that a {@code torch.save} pickle can be read without running code.
 *
 * <p>Razorvine by default turns every {@code GLOBAL} into an {@code IObjectConstructor} from a process-wide,
 * mutable registry (falling back to {@code ClassDictConstructor}), "calls" it on {@code REDUCE}/{@code NEWOBJ}, and
 * implements {@code BUILD} by reflectively invoking a {@code __setstate__} method on whatever object is on the
 * stack. This subclass intercepts every opcode that names or calls a global, or applies state
 * ({@code GLOBAL}, {@code STACK_GLOBAL}, {@code INST}, {@code OBJ}, {@code REDUCE}, {@code NEWOBJ},
 * {@code NEWOBJ_EX}, {@code BUILD}), so that the registry and reflection are never reached: globals become
 * {@link PickleGlobal} names, only the allow-list below is interpreted, and everything else becomes an inert
 * {@link PickleObject}. It also bounds every length-prefixed read by the bytes actually left in the pickle (so a
 * forged length cannot allocate gigabytes), keeps dict insertion order, and refuses unhashable dict keys/set
 * members (which Python would refuse too, and which could otherwise make Java hash deeply nested containers).
 *
 * <p>Allow-list: {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_tensor},
 * {@code torch._utils._rebuild_parameter}, {@code collections.OrderedDict}, {@code builtins.set}/{@code frozenset}
 * (and their Python 2 {@code __builtin__} spellings), {@code torch.Size}, and the torch storage classes, which are
 * only honoured inside a persistent id.
 */
final class SafeTorchUnpickler extends Unpickler {
    /** Largest integer literal accepted, in bytes (Python RNG states use 32-bit words). */
    static final int MAX_INT_LITERAL_BYTES = 4096;
    /** Most dimensions a tensor may declare. */
    static final int MAX_DIMS = 64;

    private static final Map<String, DType> STORAGE_TYPES = storageTypes();

    private final Path file;
    private final ReadLimits limits;
    private CountingInput in;
    private final Map<String, TorchStorageRef> storages = new HashMap<>();
    /** Opcodes executed plus container elements copied: the heap budget {@link ReadLimits#pickleObjects()}. */
    private long objects;
    private long memoPuts;
    private long memoGets;
    /** Nesting depth of the containers built so far (absent: depth 0, a scalar or an untracked container). */
    private final Map<Object, Integer> depth = new IdentityHashMap<>();

    SafeTorchUnpickler(Path file) {
        this(file, ReadLimits.defaults());
    }

    SafeTorchUnpickler(Path file, ReadLimits limits) {
        this.file = file;
        this.limits = limits;
    }

    /** Torch storage classes that may appear in a persistent id, with their element type (null: unsupported). */
    private static Map<String, DType> storageTypes() {
        Map<String, DType> m = new HashMap<>();
        for (String module : List.of("torch", "torch.cuda")) {
            m.put(module + ".FloatStorage", DType.FLOAT32);
            m.put(module + ".HalfStorage", DType.FLOAT16);
            m.put(module + ".BFloat16Storage", DType.BFLOAT16);
            m.put(module + ".DoubleStorage", DType.FLOAT64);
            m.put(module + ".LongStorage", DType.INT64);
            m.put(module + ".IntStorage", DType.INT32);
            m.put(module + ".CharStorage", DType.INT8);
            m.put(module + ".ByteStorage", DType.UINT8);
            m.put(module + ".BoolStorage", DType.BOOL);
            // Known storage classes whose element type the SDK has no DType for: recognised, rejected on use.
            m.put(module + ".ShortStorage", null);
            m.put(module + ".ComplexFloatStorage", null);
            m.put(module + ".ComplexDoubleStorage", null);
            m.put(module + ".QInt8Storage", null);
            m.put(module + ".QUInt8Storage", null);
            m.put(module + ".QInt32Storage", null);
        }
        // torch >= 2.0 untyped storages: raw bytes.
        m.put("torch.UntypedStorage", DType.UINT8);
        m.put("torch.storage.UntypedStorage", DType.UINT8);
        m.put("torch.storage._UntypedStorage", DType.UINT8);
        return Collections.unmodifiableMap(m);
    }

    /** True if {@code g} is a torch storage class this reader knows. */
    static boolean isStorageType(PickleGlobal g) {
        return STORAGE_TYPES.containsKey(g.qualifiedName());
    }

    /**
     * Unpickles {@code data} ({@code data.pkl} of the checkpoint) into inert Java data.
     *
     * @throws CheckpointException naming the file for any malformed, truncated or rejected pickle
     */
    Object unpickle(byte[] data) {
        in = new CountingInput(data);
        try {
            return load(in);
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException e) {
            throw new CheckpointException(file, "truncated or corrupt pickle (data.pkl) at byte " + in.position()
                    + " of " + data.length + ": " + e.getMessage(), e);
        } catch (RuntimeException | StackOverflowError e) {
            throw new CheckpointException(file, "corrupt pickle (data.pkl) at byte " + in.position() + " of "
                    + data.length + ": " + e, e);
        } finally {
            close();
        }
    }

    @Override
    protected Object dispatch(short key) throws IOException {
        charge(1);
        switch (key) {
            case Opcodes.PUT, Opcodes.BINPUT, Opcodes.LONG_BINPUT, Opcodes.MEMOIZE -> {
                if (++memoPuts > limits.pickleMemo()) {
                    throw overBudget("memo entries", memoPuts, "pickleMemo", limits.pickleMemo());
                }
                return super.dispatch(key);
            }
            case Opcodes.GET, Opcodes.BINGET, Opcodes.LONG_BINGET -> {
                if (++memoGets > limits.pickleMemo()) {
                    throw overBudget("memo references", memoGets, "pickleMemo", limits.pickleMemo());
                }
                return super.dispatch(key);
            }
            case Opcodes.LIST, Opcodes.TUPLE, Opcodes.TUPLE1, Opcodes.TUPLE2, Opcodes.TUPLE3 -> {
                Object r = super.dispatch(key);
                Object top = stack.peek();
                tracked(top, top instanceof Object[] t ? Arrays.asList(t) : (Collection<?>) top);
                return r;
            }
            case Opcodes.EMPTY_LIST, Opcodes.EMPTY_TUPLE -> {
                Object r = super.dispatch(key);
                tracked(stack.peek(), List.of());
                return r;
            }
            case Opcodes.GLOBAL -> {
                String module = PickleUtils.readline(in);
                String name = PickleUtils.readline(in);
                stack.add(new PickleGlobal(module, name));
            }
            case Opcodes.STACK_GLOBAL -> {
                Object name = stack.pop();
                Object module = stack.pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw malformed("STACK_GLOBAL needs two strings, got " + Inert.describe(module) + " and "
                            + Inert.describe(name));
                }
                stack.add(new PickleGlobal(m, n));
            }
            case Opcodes.INST -> {
                String module = PickleUtils.readline(in);
                String name = PickleUtils.readline(in);
                List<Object> args = stack.pop_all_since_marker();
                stack.add(tracked(call(new PickleGlobal(module, name), args, Map.of()), args));
            }
            case Opcodes.OBJ -> {
                List<Object> all = stack.pop_all_since_marker();
                if (all.isEmpty()) {
                    throw malformed("OBJ without a class");
                }
                stack.add(tracked(call(all.get(0), all.subList(1, all.size()), Map.of()), all));
            }
            case Opcodes.REDUCE, Opcodes.NEWOBJ -> {
                Object args = stack.pop();
                Object callee = stack.pop();
                stack.add(tracked(call(callee, tuple(args, key == Opcodes.REDUCE ? "REDUCE" : "NEWOBJ"), Map.of()),
                        List.of(args)));
            }
            case Opcodes.NEWOBJ_EX -> {
                Object kwargs = stack.pop();
                Object args = stack.pop();
                Object callee = stack.pop();
                if (!(kwargs instanceof Map<?, ?> kw)) {
                    throw malformed("NEWOBJ_EX keyword arguments are " + Inert.describe(kwargs) + ", not a dict");
                }
                charge(kw.size());
                stack.add(tracked(call(callee, tuple(args, "NEWOBJ_EX"), new LinkedHashMap<>(kw)),
                        List.of(args, kwargs)));
            }
            case Opcodes.BUILD -> {
                Object state = stack.pop();
                Object target = stack.peek();
                if (target instanceof PickleObject o) {
                    o.setState(state);
                    nest(o, state);
                }
                // Anything else (an OrderedDict's _metadata attribute, tensor attributes, ...) is dropped: nothing
                // is ever invoked on the target.
            }
            case Opcodes.EMPTY_DICT -> stack.add(tracked(new LinkedHashMap<>(), List.of()));
            case Opcodes.DICT -> {
                List<Object> items = stack.pop_all_since_marker();
                if (items.size() % 2 != 0) {
                    throw malformed("DICT with an odd number of items");
                }
                checkSize("DICT", items.size() / 2L);
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < items.size(); i += 2) {
                    map.put(hashable(items.get(i)), items.get(i + 1));
                }
                stack.add(tracked(map, items));
            }
            case Opcodes.SETITEM -> {
                Object value = stack.pop();
                Object k = stack.pop();
                putItem(stack.peek(), k, value);
            }
            case Opcodes.SETITEMS -> {
                List<Object> items = stack.pop_all_since_marker();
                if (items.size() % 2 != 0) {
                    throw malformed("SETITEMS with an odd number of items");
                }
                Object target = stack.peek();
                for (int i = 0; i < items.size(); i += 2) {
                    putItem(target, items.get(i), items.get(i + 1));
                }
            }
            case Opcodes.APPEND -> {
                Object value = stack.pop();
                appendItem(stack.peek(), value);
            }
            case Opcodes.APPENDS -> {
                List<Object> items = stack.pop_all_since_marker();
                Object target = stack.peek();
                for (Object item : items) {
                    appendItem(target, item);
                }
            }
            case Opcodes.EMPTY_SET -> stack.add(tracked(new LinkedHashSet<>(), List.of()));
            case Opcodes.ADDITEMS -> {
                List<Object> items = stack.pop_all_since_marker();
                Object target = stack.peek();
                if (!(target instanceof Set<?>)) {
                    throw malformed("ADDITEMS on " + Inert.describe(target) + ", not a set");
                }
                @SuppressWarnings("unchecked")
                Set<Object> set = (Set<Object>) target;
                for (Object item : items) {
                    set.add(hashable(item));
                    nest(set, item);
                }
                checkSize("ADDITEMS", set.size());
            }
            case Opcodes.FROZENSET -> {
                Set<Object> set = new LinkedHashSet<>();
                List<Object> items = stack.pop_all_since_marker();
                checkSize("FROZENSET", items.size());
                for (Object item : items) {
                    set.add(hashable(item));
                }
                stack.add(tracked(set, items));
            }
            case Opcodes.BINSTRING -> stack.add(PickleUtils.rawStringFromBytes(readBounded(readInt32(), "BINSTRING")));
            case Opcodes.BINBYTES -> stack.add(readBounded(readUInt32(), "BINBYTES"));
            case Opcodes.BINBYTES8, Opcodes.BYTEARRAY8 -> stack.add(readBounded(readInt64(), "BINBYTES8"));
            case Opcodes.BINUNICODE -> stack.add(utf8(readBounded(readUInt32(), "BINUNICODE")));
            case Opcodes.BINUNICODE8 -> stack.add(utf8(readBounded(readInt64(), "BINUNICODE8")));
            case Opcodes.LONG4 -> {
                long n = readInt32();
                if (n > MAX_INT_LITERAL_BYTES) {
                    throw malformed("LONG4 integer literal of " + n + " bytes (at most " + MAX_INT_LITERAL_BYTES
                            + " accepted)");
                }
                stack.add(PickleUtils.decode_long(readBounded(n, "LONG4")));
            }
            case Opcodes.LONG -> {
                String text = PickleUtils.readline(in);
                if (text.length() > MAX_INT_LITERAL_BYTES * 3) {
                    throw malformed("LONG integer literal of " + text.length() + " digits");
                }
                if (text.endsWith("L")) {
                    text = text.substring(0, text.length() - 1);
                }
                stack.add(PickleUtils.optimizeBigint(new BigInteger(text.trim())));
            }
            case Opcodes.NEXT_BUFFER, Opcodes.READONLY_BUFFER ->
                    throw malformed("out-of-band buffers (pickle protocol 5) are not used by torch.save");
            default -> {
                return super.dispatch(key);
            }
        }
        return NO_RETURN_VALUE;
    }

    /** Torch's persistent ids: {@code ('storage', storage_type, key, location, numel)}. */
    @Override
    protected Object persistentLoad(Object pid) {
        if (!(pid instanceof Object[] t) || t.length != 5 || !"storage".equals(t[0])) {
            throw malformed("unsupported persistent id " + Inert.describe(pid)
                    + " (expected ('storage', storage_type, key, location, numel))");
        }
        if (!(t[1] instanceof PickleGlobal type) || !STORAGE_TYPES.containsKey(type.qualifiedName())) {
            throw malformed("persistent id names " + Inert.describe(t[1]) + " as storage type, not a torch storage"
                    + " class");
        }
        if (!(t[2] instanceof String storageKey) || storageKey.isEmpty() || storageKey.length() > 256
                || storageKey.contains("/") || storageKey.contains("\\") || storageKey.contains("..")) {
            throw malformed("persistent id has an invalid storage key " + Inert.describe(t[2]));
        }
        long numel = nonNegativeLong(t[4], "storage numel");
        String location = t[3] instanceof String s ? s : String.valueOf(t[3]);
        TorchStorageRef ref = new TorchStorageRef(type, STORAGE_TYPES.get(type.qualifiedName()), storageKey,
                location, numel);
        TorchStorageRef previous = storages.putIfAbsent(storageKey, ref);
        return previous != null && previous.equals(ref) ? previous : ref;
    }

    /** "Calls" {@code callee}: the allow-list is interpreted, everything else becomes an inert record. */
    private Object call(Object callee, List<Object> args, Map<Object, Object> kwargs) {
        if (callee instanceof PickleGlobal g) {
            String q = g.qualifiedName();
            switch (q) {
                case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                    return rebuildTensor(q, args, kwargs);
                }
                case "torch._utils._rebuild_parameter" -> {
                    if (args.isEmpty() || !(args.get(0) instanceof TorchTensorRef)) {
                        throw malformed(q + " called with " + Inert.describeArgs(args) + "; expected a tensor first");
                    }
                    return args.get(0);
                }
                case "collections.OrderedDict" -> {
                    return orderedDict(args, kwargs);
                }
                case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset" -> {
                    return set(q, args, kwargs);
                }
                case "torch.Size" -> {
                    if (args.size() != 1 || !kwargs.isEmpty()) {
                        throw malformed("torch.Size called with " + Inert.describeArgs(args));
                    }
                    return tracked(sequence(args.get(0), "torch.Size argument").toArray(), List.of());
                }
                default -> {
                    // not on the allow-list: inert
                }
            }
        }
        return new PickleObject(callee, args, kwargs);
    }

    private TorchTensorRef rebuildTensor(String q, List<Object> args, Map<Object, Object> kwargs) {
        if (args.size() < 4 || !kwargs.isEmpty()) {
            throw malformed(q + " called with " + Inert.describeArgs(args)
                    + "; expected (storage, storage_offset, size, stride, ...)");
        }
        if (!(args.get(0) instanceof TorchStorageRef storage)) {
            throw malformed(q + " called on " + Inert.describe(args.get(0)) + ", not a torch storage");
        }
        long offset = nonNegativeLong(args.get(1), "storage offset");
        long[] shape = longs(args.get(2), "size");
        long[] stride = longs(args.get(3), "stride");
        return new TorchTensorRef(storage, offset, shape, stride);
    }

    private Map<Object, Object> orderedDict(List<Object> args, Map<Object, Object> kwargs) {
        Map<Object, Object> map = new LinkedHashMap<>();
        if (args.size() > 1) {
            throw malformed("collections.OrderedDict called with " + Inert.describeArgs(args));
        }
        if (args.size() == 1) {
            Object a = args.get(0);
            if (a instanceof Map<?, ?> m) {
                charge(m.size());
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    map.put(hashable(e.getKey()), e.getValue());
                }
            } else {
                for (Object pair : sequence(a, "OrderedDict argument")) {
                    List<Object> kv = sequence(pair, "OrderedDict item");
                    if (kv.size() != 2) {
                        throw malformed("OrderedDict item " + Inert.describe(pair) + " is not a pair");
                    }
                    map.put(hashable(kv.get(0)), kv.get(1));
                }
            }
        }
        for (Map.Entry<Object, Object> e : kwargs.entrySet()) {
            map.put(hashable(e.getKey()), e.getValue());
        }
        checkSize("collections.OrderedDict", map.size());
        return tracked(map, map.values());
    }

    private Set<Object> set(String q, List<Object> args, Map<Object, Object> kwargs) {
        if (args.size() > 1 || !kwargs.isEmpty()) {
            throw malformed(q + " called with " + Inert.describeArgs(args));
        }
        Set<Object> set = new LinkedHashSet<>();
        if (args.size() == 1) {
            Object a = args.get(0);
            Collection<?> items = a instanceof Set<?> s ? s : sequence(a, q + " argument");
            charge(items.size());
            for (Object item : items) {
                set.add(hashable(item));
            }
            return tracked(set, items);
        }
        return tracked(set, List.of());
    }

    private void putItem(Object target, Object k, Object value) {
        if (target instanceof Map<?, ?>) {
            @SuppressWarnings("unchecked")
            Map<Object, Object> map = (Map<Object, Object>) target;
            map.put(hashable(k), value);
            checkSize("SETITEM", map.size());
        } else if (target instanceof PickleObject o) {
            o.putEntry(hashable(k), value);
        } else {
            throw malformed("SETITEM on " + Inert.describe(target) + ", not a dict");
        }
        nest(target, value);
    }

    private void appendItem(Object target, Object value) {
        if (target instanceof List<?>) {
            @SuppressWarnings("unchecked")
            List<Object> list = (List<Object>) target;
            list.add(value);
            checkSize("APPEND", list.size());
        } else if (target instanceof PickleObject o) {
            o.addItem(value);
        } else {
            throw malformed("APPEND on " + Inert.describe(target) + ", not a list");
        }
        nest(target, value);
    }

    /**
     * Dict keys and set members must be hashable the Python way; mutable containers are refused (Python refuses
     * them too), so no container is ever hashed by content.
     */
    private Object hashable(Object k) {
        if (k instanceof Collection<?> || k instanceof Map<?, ?>) {
            throw malformed("unhashable " + Inert.describe(k) + " used as a dict key or set member");
        }
        return k;
    }

    private static Object[] tuple(Object args, String opcode) {
        if (args instanceof Object[] t) {
            return t;
        }
        throw new PickleException(opcode + " arguments are " + Inert.describe(args) + ", not a tuple");
    }

    private Object call(Object callee, Object[] args, Map<Object, Object> kwargs) {
        return call(callee, Arrays.asList(args), kwargs);
    }

    private List<Object> sequence(Object o, String what) {
        if (o instanceof Object[] t) {
            return Arrays.asList(t);
        }
        if (o instanceof List<?> l) {
            charge(l.size());
            return new ArrayList<>(l);
        }
        throw malformed(what + " is " + Inert.describe(o) + ", not a tuple or list");
    }

    private long[] longs(Object o, String what) {
        List<Object> items = sequence(o, what);
        if (items.size() > MAX_DIMS) {
            throw malformed("tensor " + what + " has " + items.size() + " dimensions (at most " + MAX_DIMS + ")");
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = items.get(i);
            if (!(v instanceof Integer || v instanceof Long)) {
                throw malformed("tensor " + what + " " + Inert.describe(o) + " holds " + Inert.describe(v)
                        + ", not an integer");
            }
            out[i] = ((Number) v).longValue();
        }
        return out;
    }

    private long nonNegativeLong(Object o, String what) {
        if (!(o instanceof Integer || o instanceof Long) || ((Number) o).longValue() < 0) {
            throw malformed(what + " is " + Inert.describe(o) + ", not a non-negative integer");
        }
        return ((Number) o).longValue();
    }

    private byte[] readBounded(long length, String opcode) throws IOException {
        if (length < 0 || length > in.available()) {
            throw malformed(opcode + " declares " + length + " bytes but only " + in.available()
                    + " remain in data.pkl (truncated or forged pickle)");
        }
        byte[] b = in.readNBytes((int) length);
        if (b.length != length) {
            throw new IOException("expected " + length + " bytes for " + opcode);
        }
        return b;
    }

    private byte[] readExactly(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException("premature end of pickle data");
        }
        return b;
    }

    private long readInt32() throws IOException {
        byte[] b = readExactly(4);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | b[3] << 24;
    }

    private long readUInt32() throws IOException {
        return readInt32() & 0xffffffffL;
    }

    private long readInt64() throws IOException {
        byte[] b = readExactly(8);
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xff);
        }
        return v;
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Charges {@code n} objects to the budget {@link ReadLimits#pickleObjects()}. */
    private void charge(long n) {
        objects += n;
        if (objects > limits.pickleObjects()) {
            throw overBudget("objects (opcodes executed plus container elements copied)", objects, "pickleObjects",
                    limits.pickleObjects());
        }
    }

    private void checkSize(String opcode, long size) {
        if (size > limits.pickleContainer()) {
            throw overBudget(opcode + " container elements", size, "pickleContainer", limits.pickleContainer());
        }
    }

    private static boolean isContainer(Object o) {
        return o instanceof Collection<?> || o instanceof Map<?, ?> || o instanceof Object[]
                || o instanceof PickleObject;
    }

    private int depthOf(Object o) {
        if (!isContainer(o)) {
            return 0;
        }
        Integer d = depth.get(o);
        return d == null ? 1 : d;
    }

    /** Records a new container holding {@code children}: its depth is one more than the deepest child's. */
    private <T> T tracked(T container, Collection<?> children) {
        if (!isContainer(container)) {
            return container;
        }
        checkSize("container", children.size());
        int d = 0;
        for (Object c : children) {
            d = Math.max(d, depthOf(c));
        }
        setDepth(container, d + 1);
        return container;
    }

    /** Records that {@code child} was put into {@code container}. */
    private void nest(Object container, Object child) {
        int d = depthOf(child) + 1;
        if (d > depthOf(container)) {
            setDepth(container, d);
        }
    }

    private void setDepth(Object container, int d) {
        if (d > limits.pickleNesting()) {
            throw overBudget("levels of nested containers", d, "pickleNesting", limits.pickleNesting());
        }
        depth.put(container, d);
    }

    private CheckpointException overBudget(String what, long found, String limitName, long limit) {
        return malformed("more than " + ReadLimits.named(limitName, limit) + " " + what + " (reached " + found
                + "); a torch checkpoint needs far fewer, so the pickle is refused before it exhausts memory");
    }

    private CheckpointException malformed(String problem) {
        return new CheckpointException(file, "corrupt or unsupported pickle (data.pkl) near byte "
                + (in == null ? 0 : in.position()) + ": " + problem);
    }

    /** A byte-array stream that knows its position and exactly how many bytes remain. */
    private static final class CountingInput extends ByteArrayInputStream {
        CountingInput(byte[] data) {
            super(data);
        }

        synchronized int position() {
            return pos;
        }
    }
}
