package io.cogvideo.model;

import io.cogvideo.CogVideoException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * Typed reading of {@code model_config.json} fields: an integer field must hold a JSON integer (not a string, a
 * boolean, a fraction such as {@code 1.9}, or an object), inside its allowed range, compared before any conversion
 * so that {@code 2^32 + 2} cannot wrap and {@code 1.9} cannot be truncated. Errors name the field, quote the value as
 * written and give the allowed range.
 */
final class SatConfigFields {
    /** Most transformer layers a config may declare (the released CogVideo has 48). */
    static final int MAX_LAYERS = 4096;
    /** Largest width (the released model: 3072). */
    static final int MAX_HIDDEN = 65536;
    /** Largest vocabulary (icetk: 150010). */
    static final int MAX_VOCAB = 1 << 24;
    /** Largest sequence length or position table. */
    static final int MAX_POSITIONS = 1 << 20;

    private final String what;
    private final Map<String, ?> c;

    SatConfigFields(String what, Map<String, ?> config) {
        if (config == null) {
            throw new CogVideoException(what + ": no config");
        }
        this.what = what;
        this.c = config;
    }

    /** A required integer field in {@code [min, max]}. */
    int integer(String key, long min, long max) {
        if (!c.containsKey(key) || c.get(key) == null) {
            throw new CogVideoException(what + ": '" + key + "' is missing; allowed: an integer in [" + min + ", "
                    + max + "]");
        }
        return integer(key, c.get(key), min, max);
    }

    /** An optional integer field in {@code [min, max]}, {@code dflt} when absent. */
    int integer(String key, int dflt, long min, long max) {
        Object v = c.get(key);
        return v == null ? dflt : integer(key, v, min, max);
    }

    /** A value (a field or an element of a list field) that must be an integer in {@code [min, max]}. */
    int integer(String key, Object v, long min, long max) {
        BigInteger n = null;
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            n = BigInteger.valueOf(((Number) v).longValue());
        } else if (v instanceof BigInteger b) {
            n = b;
        } else if (v instanceof Double || v instanceof Float || v instanceof BigDecimal) {
            BigDecimal d = v instanceof BigDecimal b ? b : toDecimal(((Number) v).doubleValue());
            if (d != null && d.stripTrailingZeros().scale() <= 0) {
                n = d.toBigIntegerExact();
            } else {
                throw new CogVideoException(what + ": '" + key + "' = " + v + " is not an integer; allowed: an"
                        + " integer in [" + min + ", " + max + "]");
            }
        }
        if (n == null) {
            throw new CogVideoException(what + ": '" + key + "' = " + describe(v) + " is not a number; allowed: an"
                    + " integer in [" + min + ", " + max + "]");
        }
        if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new CogVideoException(what + ": '" + key + "' = " + v + " is out of range; allowed: [" + min + ", "
                    + max + "]");
        }
        return n.intValueExact();
    }

    private static BigDecimal toDecimal(double d) {
        return Double.isFinite(d) ? new BigDecimal(d) : null;
    }

    /** A string field, {@code dflt} when absent. */
    String string(String key, String dflt) {
        Object v = c.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof String s)) {
            throw new CogVideoException(what + ": '" + key + "' = " + describe(v) + " must be a string");
        }
        return s;
    }

    /** A list of exactly {@code n} integers in {@code [min, max]}, {@code dflt} when absent. */
    int[] integers(String key, int n, int[] dflt, long min, long max) {
        Object v = c.get(key);
        if (v == null) {
            return dflt.clone();
        }
        if (!(v instanceof List<?> l)) {
            throw new CogVideoException(what + ": '" + key + "' = " + describe(v) + " must be a list of " + n
                    + " integers");
        }
        if (l.size() != n) {
            throw new CogVideoException(what + ": '" + key + "' has " + l.size() + " entries; it must have " + n);
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = integer(key + "[" + i + "]", l.get(i), min, max);
        }
        return out;
    }

    static String describe(Object v) {
        if (v instanceof String s) {
            return "the string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
        }
        if (v instanceof Map<?, ?>) {
            return "an object";
        }
        if (v instanceof List<?> l) {
            return "a list of " + l.size();
        }
        if (v instanceof Boolean b) {
            return "the boolean " + b;
        }
        return String.valueOf(v);
    }
}
