package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;
import io.cogvideo.spi.DType;

/** Element types the kernels read and write; {@link #code()} is the {@code CV_F32/CV_F16/CV_BF16} of cv_common.cuh. */
enum DeviceType {
    F32(DType.FLOAT32, 0, Cublas.CUDA_R_32F),
    F16(DType.FLOAT16, 1, Cublas.CUDA_R_16F),
    BF16(DType.BFLOAT16, 2, Cublas.CUDA_R_16BF);

    final DType dtype;
    private final int code;
    final int cudaDataType;

    DeviceType(DType dtype, int code, int cudaDataType) {
        this.dtype = dtype;
        this.code = code;
        this.cudaDataType = cudaDataType;
    }

    int code() {
        return code;
    }

    int bytes() {
        return dtype.byteSize();
    }

    /** Suffix of the attention kernel names ({@code f32}, {@code f16}, {@code bf16}). */
    String suffix() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static DeviceType of(DType t) {
        return switch (t) {
            case FLOAT32 -> F32;
            case FLOAT16 -> F16;
            case BFLOAT16 -> BF16;
            default -> throw new CogVideoException("the cuda backend stores FLOAT32, FLOAT16 or BFLOAT16 on the device, not "
                    + t);
        };
    }
}
