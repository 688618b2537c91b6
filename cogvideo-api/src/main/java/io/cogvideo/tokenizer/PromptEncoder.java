package io.cogvideo.tokenizer;

/**
 * Turns prompt text into the token ids of the model's vocabulary (icetk: SentencePiece id + 20000) and names the
 * special tokens the pipeline needs. Implementations are immutable and thread-safe.
 */
public interface PromptEncoder {

    /** Token ids of {@code text}, no BOS/EOS, as {@code icetk.encode}. */
    int[] encode(String text);

    /** Id of {@code <start_of_image>} (150000 with the real icetk vocabulary). */
    int startOfImage();

    /** Id of the {@code <n>} piece that follows the duration prefix. */
    int newline();

    /** Ids of the duration prefix: {@code str(float(seconds)) + "秒"}, e.g. "4.0秒", "0.5秒". */
    default int[] duration(double seconds) {
        return encode(pythonFloat(seconds) + "秒");
    }

    /** Python's {@code str(float(x))} for the durations CogVideo uses (4.0, 2.0, 1.0, 0.5, 0.25 ...). */
    static String pythonFloat(double x) {
        if (x == Math.rint(x) && Math.abs(x) < 1e16) {
            return (long) x + ".0";
        }
        return Double.toString(x);
    }
}
