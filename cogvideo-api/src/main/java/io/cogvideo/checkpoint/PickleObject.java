package io.cogvideo.checkpoint;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The inert result of a pickle "calling" something that is not on the readers' allow-list (the {@code REDUCE},
 * {@code NEWOBJ}, {@code NEWOBJ_EX}, {@code OBJ} and {@code INST} opcodes): it records what would have been
 * called and with which arguments, and collects what the pickle later adds to it ({@code BUILD} state,
 * {@code APPEND}ed items, {@code SETITEM}ed entries). No code runs and no class is loaded for it.
 *
 * <p>Typical examples are NumPy RNG state ({@code numpy.core.multiarray._reconstruct}), {@code argparse.Namespace}
 * or a hostile {@code os.system(...)}.
 *
 * <p>Package-private: an internal of the pickle reader, not part of the module's API.
 */
final class PickleObject {
    private final Object callee;
    private final List<Object> args;
    private final Map<Object, Object> kwargs;
    private Object state;
    private final List<Object> items = new ArrayList<>();
    private final Map<Object, Object> entries = new LinkedHashMap<>();

    PickleObject(Object callee, List<Object> args, Map<Object, Object> kwargs) {
        this.callee = callee;
        this.args = Collections.unmodifiableList(new ArrayList<>(args));
        this.kwargs = Collections.unmodifiableMap(new LinkedHashMap<>(kwargs));
    }

    /** What the pickle asked to call: usually a {@link PickleGlobal}, possibly any other unpickled value. */
    public Object callee() {
        return callee;
    }

    /** The global that was "called", or {@code null} if the callee is not a global. */
    public PickleGlobal global() {
        return callee instanceof PickleGlobal g ? g : null;
    }

    /** Positional arguments of the call (tuples appear as {@code Object[]}). */
    public List<Object> args() {
        return args;
    }

    /** Keyword arguments ({@code NEWOBJ_EX} only; otherwise empty). */
    public Map<Object, Object> kwargs() {
        return kwargs;
    }

    /** The state given by the last {@code BUILD} opcode on this object, or {@code null}. */
    public Object state() {
        return state;
    }

    /** Items the pickle appended to this object (list subclasses), in order. */
    public List<Object> items() {
        return Collections.unmodifiableList(items);
    }

    /** Entries the pickle set on this object (dict subclasses), in order. */
    public Map<Object, Object> entries() {
        return Collections.unmodifiableMap(entries);
    }

    void setState(Object newState) {
        state = newState;
    }

    void addItem(Object item) {
        items.add(item);
    }

    void putEntry(Object key, Object value) {
        entries.put(key, value);
    }

    /** A short description, e.g. {@code call of global os.system with 1 argument(s)}. */
    @Override
    public String toString() {
        String what = callee instanceof PickleGlobal g ? "global " + g.qualifiedName()
                : "a " + (callee == null ? "None" : callee.getClass().getSimpleName()) + " value";
        return "call of " + what + " with " + args.size() + " argument(s)";
    }
}
