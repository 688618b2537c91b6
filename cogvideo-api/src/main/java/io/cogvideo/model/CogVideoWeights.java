package io.cogvideo.model;

import io.cogvideo.spi.Backend;
import io.cogvideo.spi.Tensor;
import io.cogvideo.spi.TensorData;
import io.cogvideo.spi.WeightUse;
import java.util.ArrayList;
import java.util.List;

/**
 * The weights of one CogVideo stage model on a backend, named after the checkpoint keys. Shared, read-only state:
 * one instance serves every request. {@code h} = hidden size, {@code V} = vocabulary.
 *
 * @param wordEmbeddings     {@code transformer.word_embeddings.weight} [V, h] (also the tied output head)
 * @param imageHead          the first {@code imageVocabSize} rows of {@code wordEmbeddings} [imageVocab, h]
 * @param positionEmbeddings {@code transformer.position_embeddings.weight} [maxSequenceLength, h]
 * @param extraPositions     {@code mixins.extra_position_embedding.position_embeddings.weight} [additionalSeqLen, h]
 * @param layers             per-layer weights
 * @param finalNormWeight    {@code transformer.final_layernorm.weight} [h]
 * @param finalNormBias      {@code transformer.final_layernorm.bias} [h]
 */
public record CogVideoWeights(
        Tensor wordEmbeddings,
        Tensor imageHead,
        Tensor positionEmbeddings,
        Tensor extraPositions,
        List<Layer> layers,
        Tensor finalNormWeight,
        Tensor finalNormBias) implements AutoCloseable {

    /**
     * One transformer layer: the frozen CogView2 block and the CogVideo attention-plus (temporal) channel.
     *
     * @param block      {@code transformer.layers.i.*}
     * @param plusQkvW   {@code mixins.attention_plus.query_key_value.i.weight} [3h, h] (and bias)
     * @param plusDenseW {@code mixins.attention_plus.dense.i.weight} [h, h] (and bias)
     * @param mixLogits  {@code mixins.attention_plus.attn_distribution.i} [h] (sigmoid gives the base share)
     */
    public record Layer(
            Block block,
            Tensor plusQkvW, Tensor plusQkvB,
            Tensor plusDenseW, Tensor plusDenseB,
            Tensor mixLogits) {

        List<Tensor> all() {
            List<Tensor> t = new ArrayList<>(block.all());
            t.addAll(List.of(plusQkvW, plusQkvB, plusDenseW, plusDenseB, mixLogits));
            return t;
        }
    }

    /** Loads and shape-checks every tensor of a CogVideo stage checkpoint onto {@code backend}. */
    public static CogVideoWeights load(CogVideoConfig c, WeightSource src, Backend backend) {
        int h = c.hiddenSize();
        // cross-check num_layers against the tensors before anything is uploaded: the last layer must exist
        src.require("transformer.layers." + (c.numLayers() - 1) + ".input_layernorm.weight", h);
        TensorData wordData = src.require("transformer.word_embeddings.weight", c.vocabSize(), h);
        Tensor word = backend.upload(wordData, WeightUse.GENERAL);
        // the tied output head: a backend may keep a re-laid-out copy of these rows (the rows stay for the lookup)
        Tensor head = backend.upload(wordData.rows(0, c.imageVocabSize()), WeightUse.LINEAR);
        Tensor pos = backend.upload(src.require("transformer.position_embeddings.weight", c.maxSequenceLength(), h), WeightUse.GENERAL);
        Tensor extra = backend.upload(src.require("mixins.extra_position_embedding.position_embeddings.weight",
                c.additionalSeqLen(), h), WeightUse.GENERAL);
        List<Layer> layers = new ArrayList<>(c.numLayers());
        for (int i = 0; i < c.numLayers(); i++) {
            String plus = "mixins.attention_plus.";
            layers.add(new Layer(
                    Block.load(src, backend, i, h),
                    backend.upload(src.require(plus + "query_key_value." + i + ".weight", 3 * h, h), WeightUse.LINEAR),
                    backend.upload(src.require(plus + "query_key_value." + i + ".bias", 3 * h), WeightUse.GENERAL),
                    backend.upload(src.require(plus + "dense." + i + ".weight", h, h), WeightUse.LINEAR),
                    backend.upload(src.require(plus + "dense." + i + ".bias", h), WeightUse.GENERAL),
                    backend.upload(src.require(plus + "attn_distribution." + i, h), WeightUse.GENERAL)));
        }
        return new CogVideoWeights(word, head, pos, extra, List.copyOf(layers),
                backend.upload(src.require("transformer.final_layernorm.weight", h), WeightUse.GENERAL),
                backend.upload(src.require("transformer.final_layernorm.bias", h), WeightUse.GENERAL));
    }

    @Override
    public void close() {
        wordEmbeddings.close();
        imageHead.close();
        positionEmbeddings.close();
        extraPositions.close();
        finalNormWeight.close();
        finalNormBias.close();
        for (Layer l : layers) {
            l.all().forEach(Tensor::close);
        }
    }
}
