package io.cogvideo.spi;

import io.cogvideo.CogVideoException;
import java.util.Map;

/** Looks up op packs by capability and fails, before any work, with a message that says what is missing. */
public final class OpPacks {
    private static final Map<Class<?>, String> WHAT = Map.of(
            FusedAttention.class, "fused dual-channel attention (the CogVideo transformer)",
            LocalAttention.class, "local attention (CogView2 super-resolution)",
            VqVaeOps.class, "VQ-VAE image operations (the image tokenizer: encoding pictures, decoding frames)",
            TrainingOps.class, "training operations (backward passes, training attention masks, the fused loss)",
            VqVaeTrainingOps.class, "VQ-VAE training operations (convolution, group norm and pooling backward)");

    private OpPacks() {
    }

    /**
     * The backend's implementation of {@code pack}.
     *
     * @param neededFor what the caller is about to do, for the message (for example "decoding frames to pixels")
     * @throws CogVideoException naming the backend, the missing pack and what to do instead
     */
    public static <P extends OpPack> P require(Backend backend, Class<P> pack, String neededFor) {
        return backend.find(pack).orElseThrow(() -> new CogVideoException("backend '" + backend.name()
                + "' does not provide the " + pack.getSimpleName() + " op pack (" + describe(pack) + "), needed for "
                + neededFor + ". Choose a backend that has it (the cpu backend has every pack: -Dcogvideo.backend=cpu)"
                + " or leave out what needs it."));
    }

    /** Whether {@code backend} provides {@code pack}. */
    public static boolean has(Backend backend, Class<? extends OpPack> pack) {
        return backend.find(pack).isPresent();
    }

    /** A short description of a pack, for messages and {@code cogvideo info}. */
    public static String describe(Class<? extends OpPack> pack) {
        return WHAT.getOrDefault(pack, pack.getName());
    }

    /** The packs this project defines, in a stable order. */
    public static java.util.List<Class<? extends OpPack>> known() {
        return java.util.List.of(FusedAttention.class, LocalAttention.class, VqVaeOps.class, TrainingOps.class,
                VqVaeTrainingOps.class);
    }
}
