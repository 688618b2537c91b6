package io.cogvideo.model;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.WeightUse;
import java.util.List;

/**
 * The frozen CogView2 part of one transformer layer ({@code transformer.layers.i.*}), shared by the CogVideo and the
 * DSR models. {@code h} = hidden size.
 *
 * @param inputNormW  {@code input_layernorm.weight} [h] (and bias)
 * @param qkvW        {@code attention.query_key_value.weight} [3h, h], rows Q | K | V (heads contiguous)
 * @param denseW      {@code attention.dense.weight} [h, h]
 * @param thirdNormW  {@code third_layernorm.weight} [h] (sandwich LN after attention)
 * @param postNormW   {@code post_attention_layernorm.weight} [h]
 * @param fcInW       {@code mlp.dense_h_to_4h.weight} [4h, h]
 * @param fcOutW      {@code mlp.dense_4h_to_h.weight} [h, 4h]
 * @param fourthNormW {@code fourth_layernorm.weight} [h] (sandwich LN after the MLP)
 */
public record Block(
        Tensor inputNormW, Tensor inputNormB,
        Tensor qkvW, Tensor qkvB,
        Tensor denseW, Tensor denseB,
        Tensor thirdNormW, Tensor thirdNormB,
        Tensor postNormW, Tensor postNormB,
        Tensor fcInW, Tensor fcInB,
        Tensor fcOutW, Tensor fcOutB,
        Tensor fourthNormW, Tensor fourthNormB) {

    /** Loads layer {@code i} ({@code transformer.layers.i.*}), checking shapes. */
    static Block load(WeightSource src, Backend backend, int i, int h) {
        String p = "transformer.layers." + i + ".";
        return new Block(
                backend.upload(src.require(p + "input_layernorm.weight", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "input_layernorm.bias", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "attention.query_key_value.weight", 3 * h, h), WeightUse.LINEAR),
                backend.upload(src.require(p + "attention.query_key_value.bias", 3 * h), WeightUse.GENERAL),
                backend.upload(src.require(p + "attention.dense.weight", h, h), WeightUse.LINEAR),
                backend.upload(src.require(p + "attention.dense.bias", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "third_layernorm.weight", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "third_layernorm.bias", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "post_attention_layernorm.weight", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "post_attention_layernorm.bias", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "mlp.dense_h_to_4h.weight", 4 * h, h), WeightUse.LINEAR),
                backend.upload(src.require(p + "mlp.dense_h_to_4h.bias", 4 * h), WeightUse.GENERAL),
                backend.upload(src.require(p + "mlp.dense_4h_to_h.weight", h, 4 * h), WeightUse.LINEAR),
                backend.upload(src.require(p + "mlp.dense_4h_to_h.bias", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "fourth_layernorm.weight", h), WeightUse.GENERAL),
                backend.upload(src.require(p + "fourth_layernorm.bias", h), WeightUse.GENERAL));
    }

    List<Tensor> all() {
        return List.of(inputNormW, inputNormB, qkvW, qkvB, denseW, denseB, thirdNormW, thirdNormB, postNormW,
                postNormB, fcInW, fcInB, fcOutW, fcOutB, fourthNormW, fourthNormB);
    }

    /**
     * The sandwich tail of a layer: {@code x + LN3(attnOut)}, then {@code + LN4(W2 gelu(W1 LN_post(x)))}. The
     * intermediates are temporaries of the caller's {@link io.cogvideo.spi.TensorScope}; the two widest are freed
     * as soon as they are used.
     */
    Tensor residualTail(Backend backend, Tensor x, Tensor attnOut, float eps) {
        Tensor x1 = backend.add(x, backend.layerNorm(attnOut, thirdNormW, thirdNormB, eps));
        Tensor hid = backend.linear(backend.layerNorm(x1, postNormW, postNormB, eps), fcInW, fcInB); // [B, n, 4h]
        Tensor act = backend.gelu(hid);
        hid.close();
        Tensor m2 = backend.linear(act, fcOutW, fcOutB);
        act.close();
        return backend.add(x1, backend.layerNorm(m2, fourthNormW, fourthNormB, eps));
    }
}
