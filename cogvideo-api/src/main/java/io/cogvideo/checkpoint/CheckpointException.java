package io.cogvideo.checkpoint;

import io.cogvideo.CogVideoException;
import java.nio.file.Path;

/** A checkpoint or asset file that cannot be used: the message names the file and the problem. */
public class CheckpointException extends CogVideoException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public CheckpointException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public CheckpointException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }
}
