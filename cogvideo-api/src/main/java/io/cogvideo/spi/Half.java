package io.cogvideo.spi;

/** IEEE 754 binary16 conversion (the JDK gained this only in Java 20; this module targets 17). */
public final class Half {
    private Half() {
    }

    /** Widens the binary16 bit pattern {@code h} to a float, exactly. */
    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: value = mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** Rounds a float to the nearest binary16 (ties to even). */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int val = (bits & 0x7fffffff) + 0x1000; // rounding bias
        if (val >= 0x47800000) { // overflow, inf or NaN
            if ((bits & 0x7fffffff) >= 0x47800000) {
                if ((bits & 0x7fffffff) > 0x7f800000) {
                    return (short) (sign | 0x7e00);
                }
                return (short) (sign | 0x7c00);
            }
            return (short) (sign | 0x7bff);
        }
        if (val >= 0x38800000) { // normal
            int abs = bits & 0x7fffffff;
            int m = abs & 0x7fffff;
            int e = (abs >>> 23) - 127 + 15;
            int half = (e << 10) | (m >>> 13);
            int rest = m & 0x1fff;
            if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        if (val < 0x33000000) { // underflow to zero
            return (short) sign;
        }
        // subnormal
        float abs = Math.abs(f);
        int mant = (int) Math.rint(abs * 0x1p24f);
        return (short) (sign | mant);
    }
}
