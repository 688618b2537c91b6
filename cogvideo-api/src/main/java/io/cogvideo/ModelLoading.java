package io.cogvideo;

import io.cogvideo.generation.ClusterSampler;
import io.cogvideo.generation.CogVideoPipeline;
import io.cogvideo.tokenizer.ImageDecoder;
import io.cogvideo.tokenizer.PromptEncoder;
import io.cogvideo.model.CogVideoConfig;
import io.cogvideo.model.CogVideoModel;
import io.cogvideo.model.DsrModel;
import io.cogvideo.generation.SuperResolution;
import io.cogvideo.spi.Backend;
import io.cogvideo.spi.FusedAttention;
import io.cogvideo.spi.LocalAttention;
import io.cogvideo.spi.OpPacks;
import io.cogvideo.spi.VqVaeOps;
import java.nio.file.Path;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads checkpoints and tokenizers into a pipeline, checking first (before any weight is read) that the backend has
 * every op pack the configured parts need.
 */
final class ModelLoading {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLoading.class);
    /** Window of the released stage-2 model ({@code InferenceModel_Interpolate} forces 10). */
    static final int STAGE2_WINDOW = 10;

    private ModelLoading() {
    }

    static CogVideoPipeline pipeline(Backend backend, Path stage1Dir, Path stage2Dir, Path textTokenizer,
            Path imageTokenizer, Path clusterTable, Path superResolutionDir, PromptEncoder encoder,
            ImageDecoder decoder) {
        // every capability the configured pipeline needs, before any weight is read
        OpPacks.require(backend, FusedAttention.class, "the CogVideo transformer");
        if (decoder == null && imageTokenizer != null) {
            OpPacks.require(backend, VqVaeOps.class, "decoding frames to pixels (an image tokenizer was given)");
        }
        if (superResolutionDir != null) {
            OpPacks.require(backend, LocalAttention.class, "super-resolution (a super-resolution model was given)");
        }
        long t0 = System.nanoTime();
        CogVideoModel stage1 = CogVideoModel.load(stage1Dir, backend);
        CogVideoModel stage2 = stage2Dir == null || stage2Dir.equals(stage1Dir) ? stage1
                : CogVideoModel.load(stage2Dir, backend);
        LOG.info("Loaded {} in {} ms", stage2 == stage1 ? stage1Dir : stage1Dir + " and " + stage2Dir,
                (System.nanoTime() - t0) / 1_000_000);
        PromptEncoder enc = encoder;
        if (enc == null) {
            if (textTokenizer == null) {
                throw new CogVideoException("no text tokenizer: call textTokenizer(Path to ice_text.model) or "
                        + "promptEncoder(...)");
            }
            enc = Tokenizers.promptEncoder(textTokenizer, stage1.config());
        }
        ImageDecoder dec = decoder;
        if (dec == null && imageTokenizer != null) {
            // runs on the generator's backend: every request checks the pack again before any work
            dec = ImageDecoder.needing(Set.of(VqVaeOps.class), Tokenizers.imageDecoder(imageTokenizer, backend));
        }
        int imageVocab = stage1.config().imageVocabSize();
        int[] table;
        if (clusterTable != null) {
            table = ClusterSampler.readTable(clusterTable);
        } else if (imageVocab == CogVideoConfig.ICETK_IMAGE_TOKENS) {
            table = ClusterSampler.bundledTable();
        } else {
            LOG.info("No cluster table for {} image tokens: plain top-k sampling", imageVocab);
            table = null;
        }
        int window = stage2.config().windowSize() > 0 ? stage2.config().windowSize() : STAGE2_WINDOW;
        SuperResolution sr = null;
        if (superResolutionDir != null) {
            sr = new SuperResolution(DsrModel.load(superResolutionDir, backend), enc.startOfImage(),
                    SuperResolution.defaultSampler(table));
        }
        return new CogVideoPipeline(stage1, stage2, window, enc, table, dec, sr);
    }
}
