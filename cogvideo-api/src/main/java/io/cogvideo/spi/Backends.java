package io.cogvideo.spi;

import io.cogvideo.CogVideoException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and chooses backends. Selection order: an explicit name, else the system property
 * {@value #PROPERTY}, else the environment variable {@value #ENV}, else the available provider of highest rank.
 * When nothing fits, the exception lists every provider found and why each was skipped.
 */
public final class Backends {
    /** System property naming the backend to use. */
    public static final String PROPERTY = "cogvideo.backend";
    /** Environment variable naming the backend to use. */
    public static final String ENV = "COGVIDEO_BACKEND";

    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {
    }

    /** A provider found on the class path, or one that failed to load, with its availability. */
    public record Candidate(String name, int rank, BackendProvider.Availability availability, BackendProvider provider) {
    }

    /** Every provider on the class path of this class's loader, best rank first; broken ones included with the error. */
    public static List<Candidate> discover() {
        return discover(Backends.class.getClassLoader());
    }

    /** As {@link #discover()}, with another class loader. */
    public static List<Candidate> discover(ClassLoader loader) {
        List<Candidate> out = new ArrayList<>();
        Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class, loader).iterator();
        while (true) {
            BackendProvider p;
            try {
                if (!it.hasNext()) {
                    break;
                }
                p = it.next();
            } catch (ServiceConfigurationError | LinkageError e) {
                out.add(new Candidate("?", Integer.MIN_VALUE,
                        BackendProvider.Availability.no("provider failed to load: " + e.getMessage()), null));
                continue;
            }
            BackendProvider.Availability a;
            try {
                a = p.availability();
            } catch (RuntimeException | LinkageError e) {
                a = BackendProvider.Availability.no("availability check failed: " + e);
            }
            out.add(new Candidate(p.name(), p.rank(), a, p));
        }
        out.sort(Comparator.comparingInt(Candidate::rank).reversed());
        return out;
    }

    /**
     * Chooses a provider: {@code explicitName} if not null, else {@code -Dcogvideo.backend}, else
     * {@code COGVIDEO_BACKEND}, else the best available.
     *
     * @throws CogVideoException listing all candidates and why each was skipped
     */
    public static BackendProvider select(String explicitName) {
        String wanted = explicitName;
        String source = "the API";
        if (wanted == null || wanted.isBlank()) {
            wanted = System.getProperty(PROPERTY);
            source = "-D" + PROPERTY;
        }
        if (wanted == null || wanted.isBlank()) {
            wanted = System.getenv(ENV);
            source = ENV;
        }
        List<Candidate> all = discover();
        if (wanted != null && !wanted.isBlank()) {
            String w = wanted.trim().toLowerCase(Locale.ROOT);
            for (Candidate c : all) {
                if (c.name().equals(w)) {
                    if (!c.availability().available()) {
                        throw new CogVideoException("backend '" + w + "' (requested by " + source
                                + ") is not available: " + c.availability().reason() + "\n" + describe(all));
                    }
                    LOG.info("Backend '{}' chosen by {}: {}", w, source, c.availability().reason());
                    return c.provider();
                }
            }
            throw new CogVideoException("unknown backend '" + wanted + "' (requested by " + source + ")\n"
                    + describe(all));
        }
        for (Candidate c : all) {
            if (c.availability().available()) {
                LOG.info("Backend '{}' chosen by rank {}: {}", c.name(), c.rank(), c.availability().reason());
                return c.provider();
            }
        }
        throw new CogVideoException("no usable backend found. Add cogvideo-backend-cpu (ND4J, runs anywhere) or "
                + "cogvideo-backend-cuda (NVIDIA GPU) to the class path.\n" + describe(all));
    }

    /**
     * Creates the backend {@link #select} chooses, wrapped in the SPI's checking layer ({@link CheckedBackend}), as
     * every caller should use it.
     */
    public static CheckedBackend create(String explicitName, BackendOptions options) {
        return CheckedBackend.wrap(select(explicitName).create(options == null ? BackendOptions.defaults() : options));
    }

    /** A human-readable table of the candidates, one per line. */
    public static String describe(List<Candidate> all) {
        if (all.isEmpty()) {
            return "Backends found: none (no META-INF/services/io.cogvideo.spi.BackendProvider on the class path)";
        }
        StringBuilder sb = new StringBuilder("Backends found:");
        for (Candidate c : all) {
            sb.append("\n  ").append(c.name()).append(" (rank ").append(c.rank() == Integer.MIN_VALUE ? "-" : c.rank())
                    .append("): ").append(c.availability().available() ? "available" : "skipped").append(" - ")
                    .append(c.availability().reason());
        }
        return sb.toString();
    }
}
