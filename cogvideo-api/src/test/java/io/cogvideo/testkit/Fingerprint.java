package io.cogvideo.testkit;

/** The golden "fingerprint" of a logit vector: logsumexp, the logits at probe ids, and the argmax. */
public final class Fingerprint {
    private Fingerprint() {
    }

    public static double logSumExp(float[] l, int off, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            max = Math.max(max, l[off + i]);
        }
        double s = 0;
        for (int i = 0; i < len; i++) {
            s += Math.exp(l[off + i] - max);
        }
        return max + Math.log(s);
    }

    public static int argmax(float[] l, int off, int len) {
        int best = 0;
        for (int i = 1; i < len; i++) {
            if (l[off + i] > l[off + best]) {
                best = i;
            }
        }
        return best;
    }

    /** Whether {@code expected} is a tie within {@code tol} of our maximum (then either argmax is acceptable). */
    public static boolean argmaxAgrees(float[] l, int off, int len, int expected, double tol) {
        int ours = argmax(l, off, len);
        return ours == expected || Math.abs(l[off + ours] - l[off + expected]) <= tol;
    }
}
