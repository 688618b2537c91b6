package io.cogvideo.testkit;

/** Measurement helpers shared by the training parity kit and the training benchmark. */
public final class TrainingParityKitAccess {
    private TrainingParityKitAccess() {
    }

    /** CPU time of this JVM (all threads) in nanoseconds, or 0 where the platform does not report it. */
    public static long processCpuNanos() {
        return TrainingParityKit.processCpuNanos();
    }
}
