package io.cogvideo.spi;

/** Element types of tensors as they are stored in checkpoints and on devices. */
public enum DType {
    FLOAT32(4),
    FLOAT16(2),
    BFLOAT16(2),
    FLOAT64(8),
    INT64(8),
    INT32(4),
    INT8(1),
    UINT8(1),
    BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating-point types a weight may be stored in. */
    public boolean isFloatingPoint() {
        return this == FLOAT32 || this == FLOAT16 || this == BFLOAT16 || this == FLOAT64;
    }
}
