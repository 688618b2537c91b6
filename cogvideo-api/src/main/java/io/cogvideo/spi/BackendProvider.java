package io.cogvideo.spi;

/**
 * Discovered with {@link java.util.ServiceLoader} (list the implementation in
 * {@code META-INF/services/io.cogvideo.spi.BackendProvider}). A provider is tiny and cheap: it must not load native
 * code before {@link #create} is called.
 */
public interface BackendProvider {

    /** Short, unique name used for selection ({@code cpu}, {@code cuda}). */
    String name();

    /** Preference when no backend is named: the highest-ranked available provider wins. */
    int rank();

    /** Whether this backend can run here, and if not, why (shown to the user). */
    Availability availability();

    /** Creates the backend; called at most once per generator. */
    Backend create(BackendOptions options);

    /**
     * Whether a backend can run, with a human-readable reason either way.
     *
     * @param available true if {@link #create} is expected to succeed
     * @param reason    for example "ND4J nd4j-native, 2 threads" or "no CUDA driver (libcuda.so.1 not found)"
     */
    record Availability(boolean available, String reason) {
        public static Availability yes(String reason) {
            return new Availability(true, reason);
        }

        public static Availability no(String reason) {
            return new Availability(false, reason);
        }
    }
}
