package io.cogvideo.backend.cuda;

import io.cogvideo.CogVideoException;

/**
 * A failed CUDA driver or cuBLAS call: names the call and the error ({@code cuGetErrorName} /
 * {@code cublasGetStatusName}), for example {@code "cuMemAllocAsync(1.50 GiB) failed: CUDA_ERROR_OUT_OF_MEMORY (out of
 * memory)"}.
 */
public final class CudaException extends CogVideoException {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int code;
    private final String errorName;

    CudaException(String call, int code, String errorName, String detail) {
        super(message(call, code, errorName, detail));
        this.call = call;
        this.code = code;
        this.errorName = errorName;
    }

    static String message(String call, int code, String errorName, String detail) {
        StringBuilder sb = new StringBuilder(call).append(" failed: ").append(errorName);
        if (detail != null && !detail.isBlank() && !detail.equals(errorName)) {
            sb.append(" (").append(detail).append(')');
        }
        if (errorName.startsWith("CUresult ") || errorName.startsWith("cublasStatus ")) {
            sb.append(" [code ").append(code).append(']');
        }
        return sb.toString();
    }

    /** The failed call, e.g. {@code cuLaunchKernel(cv_gelu_k)}. */
    public String call() {
        return call;
    }

    /** The numeric {@code CUresult} or {@code cublasStatus_t}. */
    public int code() {
        return code;
    }

    /** The symbolic error, e.g. {@code CUDA_ERROR_NO_DEVICE}. */
    public String errorName() {
        return errorName;
    }
}
