package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.BackendOptions;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * Checks the commands share, made before any model is loaded: limits of options the API does not see early enough,
 * whether an option was given on the command line, and errors that quote the user's value exactly as typed.
 */
final class CliChecks {
    /** The request fields each generation option sets, for quoting the option as given in the field's error. */
    static final Map<String, String> REQUEST_OPTIONS = Map.of("temperature", "--temperature", "topKClusters",
            "--top-k", "samples", "--samples", "maxBatchSize", "--max-batch", "guidanceAlpha", "--guidance-alpha",
            "frameRate", "--frame-rate", "firstFrameTopKClusters", "--top-k");

    private CliChecks() {
    }

    /** {@code --threads}: the backend's limit ({@link BackendOptions#maxThreads()}), checked before any work. */
    static void threads(int threads) {
        if (threads < 0 || threads > BackendOptions.maxThreads()) {
            throw new CogVideoException("--threads must be in [0, " + BackendOptions.maxThreads() + "] (0: all "
                    + "cores; at most 4 per core of the " + Runtime.getRuntime().availableProcessors()
                    + " here, at least 16), got " + threads);
        }
    }

    /** Whether the option named {@code name} was given on the command line (not only defaulted). */
    static boolean given(CommandSpec spec, String name) {
        ParseResult r = parseResult(spec);
        return r != null && r.hasMatchedOption(name);
    }

    /** The option's value exactly as typed (the last one if repeated), or its default's text if not given. */
    static String value(CommandSpec spec, String name) {
        ParseResult r = parseResult(spec);
        if (r != null && r.hasMatchedOption(name)) {
            List<String> typed = r.matchedOption(name).originalStringValues();
            if (!typed.isEmpty()) {
                return typed.get(typed.size() - 1);
            }
        }
        OptionSpec o = spec.findOption(name);
        return o == null ? "" : String.valueOf(o.defaultValue());
    }

    /**
     * {@code e} with the option that set the failing request field, quoted as the user typed it, in front: e.g.
     * {@code --temperature 4.9e-324: temperature must be > 0, in [...], got 4.9E-324}. Other errors as they are.
     */
    static CogVideoException quoteOption(CommandSpec spec, CogVideoException e) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        for (Map.Entry<String, String> field : REQUEST_OPTIONS.entrySet()) {
            if (msg.startsWith(field.getKey() + " ") && spec.findOption(field.getValue()) != null) {
                String option = field.getValue();
                return new CogVideoException(option + " " + value(spec, option) + ": " + msg, e);
            }
        }
        return e;
    }

    private static ParseResult parseResult(CommandSpec spec) {
        return spec == null || spec.commandLine() == null ? null : spec.commandLine().getParseResult();
    }
}
