package io.cogvideo.checkpoint;

import io.cogvideo.CogVideoException;

/**
 * The budgets every reader of untrusted files checks <em>before</em> it allocates: a size declared by a file (a
 * pickle's container, an {@code .npy} shape, an image's width and height, a token grid) is compared with these
 * limits and with the file's real size, and a file over a limit is refused with a {@link CogVideoException} that
 * names the file, the value found and the limit (and the system property that changes it).
 *
 * <p>{@link #defaults()} reads each limit from a system property ({@code -Dcogvideo.limits.<name>=<value>}) and
 * falls back to the built-in default; the readers call it at each read, so a property set at run time takes effect
 * at the next read. Every limit must be a positive integer.
 *
 * @param pickleBytes      largest {@code data.pkl} of a checkpoint, in bytes ({@code cogvideo.limits.pickleBytes},
 *                         64 MiB)
 * @param pickleObjects    most opcodes executed plus container elements copied while unpickling, the pickle's
 *                         heap budget ({@code cogvideo.limits.pickleObjects}, 2,000,000; a state dict of 1,000
 *                         tensors needs about 25,000)
 * @param pickleContainer  most elements in one pickled list, tuple, dict or set
 *                         ({@code cogvideo.limits.pickleContainer}, 1,048,576)
 * @param pickleNesting    deepest nesting of pickled containers ({@code cogvideo.limits.pickleNesting}, 100)
 * @param pickleMemo       most memo entries stored, and most memo references followed
 *                         ({@code cogvideo.limits.pickleMemo}, 1,000,000)
 * @param smallFileBytes   largest {@code latest} or {@code model_config.json} file ({@code cogvideo.limits.smallFileBytes},
 *                         1 MiB)
 * @param npyBytes         largest {@code .npy} file read into memory ({@code cogvideo.limits.npyBytes}, 1 GiB)
 * @param imagePixels      most pixels (width x height, per frame) of an input picture, checked from its header
 *                         before decoding ({@code cogvideo.limits.imagePixels}, 16,777,216 = 4096 x 4096)
 * @param codecPixels      most pixels the image tokenizer encodes or decodes in one call (all images of a batch
 *                         together; {@code cogvideo.limits.codecPixels}, 4,194,304 = 2048 x 2048; CogVideo works at
 *                         160 x 160 and 480 x 480)
 */
public record ReadLimits(long pickleBytes, long pickleObjects, long pickleContainer, long pickleNesting,
        long pickleMemo, long smallFileBytes, long npyBytes, long imagePixels, long codecPixels) {

    /** Prefix of the system properties that set the limits. */
    public static final String PROPERTY_PREFIX = "cogvideo.limits.";

    /** The built-in defaults (no system property consulted). */
    public static final ReadLimits BUILT_IN = new ReadLimits(64L << 20, 2_000_000, 1L << 20, 100, 1_000_000,
            1L << 20, 1L << 30, 4096L * 4096, 2048L * 2048);

    public ReadLimits {
        positive("pickleBytes", pickleBytes);
        positive("pickleObjects", pickleObjects);
        positive("pickleContainer", pickleContainer);
        positive("pickleNesting", pickleNesting);
        positive("pickleMemo", pickleMemo);
        positive("smallFileBytes", smallFileBytes);
        positive("npyBytes", npyBytes);
        positive("imagePixels", imagePixels);
        positive("codecPixels", codecPixels);
    }

    private static void positive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException("read limit " + name + " = " + value + " must be >= 1");
        }
    }

    /**
     * The limits in force: each from its system property {@code cogvideo.limits.<name>} when set, else the built-in
     * default.
     *
     * @throws CogVideoException if a property is set to something other than a positive integer
     */
    public static ReadLimits defaults() {
        ReadLimits b = BUILT_IN;
        return new ReadLimits(prop("pickleBytes", b.pickleBytes), prop("pickleObjects", b.pickleObjects),
                prop("pickleContainer", b.pickleContainer), prop("pickleNesting", b.pickleNesting),
                prop("pickleMemo", b.pickleMemo), prop("smallFileBytes", b.smallFileBytes),
                prop("npyBytes", b.npyBytes), prop("imagePixels", b.imagePixels), prop("codecPixels", b.codecPixels));
    }

    private static long prop(String name, long dflt) {
        String v = System.getProperty(PROPERTY_PREFIX + name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CogVideoException("system property " + PROPERTY_PREFIX + name + " = '" + v
                + "' is not a positive integer");
    }

    /** {@code "<limit> (-Dcogvideo.limits.<name>)"}, for error messages. */
    static String named(String name, long limit) {
        return limit + " (-D" + PROPERTY_PREFIX + name + ")";
    }
}
