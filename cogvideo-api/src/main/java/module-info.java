/**
 * CogVideo for the JVM: the user API, the backend SPI, tokenizers, checkpoint readers and video writers.
 *
 * <p>Exported (the module's API):
 * <ul>
 *   <li>{@code io.cogvideo}: the user API ({@code VideoGenerator}, {@code GenerationRequest}, {@code Video}, ...);</li>
 *   <li>{@code io.cogvideo.spi}: what backend authors implement ({@code Backend}, op packs, {@code BackendProvider})
 *       and the checking layer and tensor scopes every backend is used through;</li>
 *   <li>{@code io.cogvideo.tokenizer}: the text tokenizer (icetk / SentencePiece) and the two interfaces a host can
 *       implement to bring its own tokenizers ({@code PromptEncoder}, {@code ImageDecoder});</li>
 *   <li>{@code io.cogvideo.training}: finetuning on the same model definition ({@code Trainer}, its options, data
 *       layout and optimizer);</li>
 *   <li>{@code io.cogvideo.checkpoint}: the checkpoint readers ({@code TorchCheckpointReader},
 *       {@code SafetensorsReader}, {@code SatCheckpoint}, {@code StateDict}, {@code NpyArray},
 *       {@code CheckpointException}); the pickle machinery behind them is package-private;</li>
 *   <li>{@code io.cogvideo.video}: GIF, MP4 and PNG-sequence writers.</li>
 * </ul>
 *
 * <p>Not exported (internals that may change in any release): {@code io.cogvideo.model} (the transformers, their
 * weights and inference state), {@code io.cogvideo.generation} (pipeline, samplers, sequence layout) and
 * {@code io.cogvideo.tokenizer.image} (the VQ-VAE). They stay public Java types because the module's own packages
 * use each other; on the class path (how the other cogvideo-java modules, tests and the CLI use this jar) they
 * remain reachable.
 *
 * <p>Backends are found with {@link java.util.ServiceLoader} ({@code uses io.cogvideo.spi.BackendProvider}): a
 * backend module declares {@code provides io.cogvideo.spi.BackendProvider with ...}; on the class path a
 * {@code META-INF/services/io.cogvideo.spi.BackendProvider} entry does the same.
 */
module io.cogvideo.api {
    // BufferedImage appears in exported signatures (Video.frames, the video writers): users need java.desktop too.
    requires transitive java.desktop;
    // org.w3c.dom for the GIF metadata tree (java.desktop requires it transitively as well; named for clarity).
    requires java.xml;
    // Not required, but needed at run time: RandomGeneratorFactory.of("L64X128MixRandom") (the per-sample seed
    // streams) is a service of the jdk.random module, which exports no API, so javac --release 17 cannot name it in
    // a requires ("module not found"). A full JDK binds it automatically; a jlink image needs --add-modules
    // jdk.random (or --bind-services).

    // SatCheckpoint.configJson() returns a JsonNode, so jackson-databind is part of the exported API.
    requires transitive com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.core;
    requires org.apache.commons.compress;
    requires org.slf4j;
    // protobuf-java has no module-info, but a stable Automatic-Module-Name (com.google.protobuf).
    requires com.google.protobuf;
    // net.razorvine:pickle 1.5 has neither a module-info nor an Automatic-Module-Name: "pickle" is derived from the
    // jar's file name (pickle-1.5.jar) and would change if the project ever declared a name.
    requires pickle;
    // org.jcodec:jcodec 0.2.5 likewise: "jcodec" is derived from the file name (jcodec-0.2.5.jar). Only the core
    // jar is required: jcodec-javase splits org.jcodec.common and org.jcodec.scale with it, so the two cannot both be
    // on a module path.
    requires jcodec;

    exports io.cogvideo;
    exports io.cogvideo.spi;
    exports io.cogvideo.tokenizer;
    exports io.cogvideo.checkpoint;
    exports io.cogvideo.video;
    exports io.cogvideo.training;
    exports io.cogvideo.training.vq;

    uses io.cogvideo.spi.BackendProvider;
}
