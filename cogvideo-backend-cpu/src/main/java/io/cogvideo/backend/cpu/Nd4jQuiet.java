package io.cogvideo.backend.cpu;

import org.nd4j.linalg.factory.Nd4j;

/** One-time ND4J set-up: no verbose/debug output, thread count as asked. */
final class Nd4jQuiet {
    private static volatile boolean done;
    private static volatile int threads;

    private Nd4jQuiet() {
    }

    static synchronized void init(int requestedThreads) {
        if (done) {
            return;
        }
        var env = Nd4j.getEnvironment();
        env.setVerbose(false);
        env.setDebug(false);
        int n = requestedThreads > 0 ? requestedThreads : Runtime.getRuntime().availableProcessors();
        env.setMaxMasterThreads(n);
        env.setMaxThreads(n);
        threads = n;
        done = true;
    }

    static int threads() {
        return threads;
    }
}
