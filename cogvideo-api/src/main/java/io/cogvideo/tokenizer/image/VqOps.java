package io.cogvideo.tokenizer.image;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.VqVaeOps;

/** The backend and its {@link VqVaeOps} pack, as the VQ-VAE layers use them (one argument instead of two). */
final class VqOps {
    final Backend backend;
    final VqVaeOps ops;

    VqOps(Backend backend) {
        this.backend = backend;
        this.ops = OpPacks.require(backend, VqVaeOps.class, "the VQ-VAE image tokenizer");
    }

    Tensor add(Tensor a, Tensor b) {
        return backend.add(a, b);
    }

    Tensor conv2d(Tensor x, Tensor w, Tensor b, int stride, int padTop, int padBottom, int padLeft, int padRight) {
        return ops.conv2d(x, w, b, stride, padTop, padBottom, padLeft, padRight);
    }

    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return ops.groupNorm(x, groups, gamma, beta, eps);
    }

    Tensor groupNormSwish(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        return ops.groupNormSwish(x, groups, gamma, beta, eps);
    }

    Tensor spatialAttention(Tensor q, Tensor k, Tensor v) {
        return ops.spatialAttention(q, k, v);
    }

    Tensor upsampleNearest2x(Tensor x) {
        return ops.upsampleNearest2x(x);
    }

    Tensor avgPool2x2(Tensor x) {
        return ops.avgPool2x2(x);
    }

    int[] codebookNearest(Tensor z, Tensor codebook) {
        return ops.codebookNearest(z, codebook);
    }

    Tensor codebookLookup(Tensor codebook, int[] ids, int batch, int height, int width) {
        return ops.codebookLookup(codebook, ids, batch, height, width);
    }
}
