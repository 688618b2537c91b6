package io.cogvideo.checkpoint;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** Short, bounded, non-recursive descriptions of unpickled values for error messages. */
final class Inert {
    private static final int MAX_TEXT = 60;

    private Inert() {
    }

    /** Describes one value without walking into containers (so cycles and huge graphs are harmless). */
    static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof String s) {
            return "string '" + clip(s) + "'";
        }
        if (o instanceof Boolean || o instanceof Number) {
            return o.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " " + clip(o.toString());
        }
        if (o instanceof Object[] t) {
            return "tuple of " + t.length;
        }
        if (o instanceof byte[] b) {
            return "bytes of length " + b.length;
        }
        if (o instanceof List<?> l) {
            return "list of " + l.size();
        }
        if (o instanceof Set<?> s) {
            return "set of " + s.size();
        }
        if (o instanceof Map<?, ?> m) {
            return "dict of " + m.size() + " entries";
        }
        if (o instanceof Collection<?> c) {
            return "collection of " + c.size();
        }
        if (o instanceof PickleGlobal || o instanceof PickleObject || o instanceof TorchTensorRef) {
            return o.toString();
        }
        if (o instanceof TorchStorageRef s) {
            return "storage '" + clip(s.key()) + "'";
        }
        return "a " + o.getClass().getSimpleName();
    }

    /** Describes an argument list, at most 6 items. */
    static String describeArgs(List<Object> args) {
        String shown = args.stream().limit(6).map(Inert::describe).collect(Collectors.joining(", "));
        return "(" + shown + (args.size() > 6 ? ", ..." : "") + ")";
    }

    /** Describes the keys of a map, at most {@code max}, strings quoted. */
    static String describeKeys(Collection<?> keys, int max) {
        String shown = keys.stream().limit(max)
                .map(k -> k instanceof String s ? "'" + clip(s) + "'" : describe(k))
                .collect(Collectors.joining(", "));
        return "[" + shown + (keys.size() > max ? ", ... (" + keys.size() + " in all)" : "") + "]";
    }

    static String clip(String s) {
        return s.length() <= MAX_TEXT ? s : s.substring(0, MAX_TEXT) + "...";
    }
}
