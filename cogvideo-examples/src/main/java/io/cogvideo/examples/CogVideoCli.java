package io.cogvideo.examples;

import io.cogvideo.CogVideoException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code cogvideo} command line. */
@Command(name = "cogvideo", mixinStandardHelpOptions = true, version = "cogvideo-java 0.1.0-SNAPSHOT",
        description = "Text-to-video with CogVideo (ICLR 2023) on the JVM.",
        subcommands = {GenerateCommand.class, InterpolateCommand.class, LogitsCommand.class, InfoCommand.class, BenchCommand.class, TokenizeCommand.class, TrainCommand.class, TrainDemoCommand.class, EvaluateDemoCommand.class, CommandLine.HelpCommand.class})
public final class CogVideoCli {

    /** Options every command has. */
    static final class Common {
        @Option(names = "--verbose", description = "Print stack traces of errors.")
        boolean verbose;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line; returns the exit code (0 ok, 1 failure, 2 usage error, 130 cancelled). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #run(String...)}, writing picocli's usage and error messages to the given writers. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new CogVideoCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            boolean verbose = false;
            for (String a : args) {
                verbose |= a.equals("--verbose");
            }
            PrintWriter w = cmd.getErr();
            if (verbose) {
                ex.printStackTrace(w);
            }
            String msg = ex instanceof CogVideoException || ex instanceof IllegalArgumentException
                    ? ex.getMessage() : ex.toString();
            w.println("error: " + firstLine(msg) + (verbose ? "" : "  (--verbose for details)"));
            w.flush();
            return ex instanceof io.cogvideo.GenerationCancelledException ? 130 : 1;
        });
        return cl.execute(args);
    }

    static String firstLine(String s) {
        if (s == null) {
            return "unknown error";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl) + " ...";
    }
}
