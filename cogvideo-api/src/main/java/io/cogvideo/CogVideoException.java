package io.cogvideo;

/**
 * Base class of every exception thrown by cogvideo-java. Unchecked, so host code decides where to handle it;
 * the message always names the offending value and, where one exists, the allowed range.
 */
public class CogVideoException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CogVideoException(String message) {
        super(message);
    }

    public CogVideoException(String message, Throwable cause) {
        super(message, cause);
    }
}
