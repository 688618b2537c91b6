package io.cogvideo.examples;

import io.cogvideo.GenerationRequest;
import io.cogvideo.GenerationStage;
import io.cogvideo.Video;
import io.cogvideo.VideoGenerator;
import java.nio.file.Path;

/**
 * How a host application uses cogvideo-java: load the models once, make many videos, from any number of threads.
 * Run with: {@code java -cp ... io.cogvideo.examples.HostAppExample STAGE1_DIR STAGE2_DIR ICE_TEXT_MODEL ICE_IMAGE_PT}.
 */
public final class HostAppExample {
    private HostAppExample() {
    }

    public static void main(String[] args) {
        if (args.length < 4) {
            System.err.println("usage: HostAppExample STAGE1_DIR STAGE2_DIR ice_text.model ice_image.pt");
            System.exit(2);
        }
        try (VideoGenerator generator = VideoGenerator.builder()
                .modelDir(Path.of(args[0]))
                .stage2ModelDir(Path.of(args[1]))
                .textTokenizer(Path.of(args[2]))
                .imageTokenizer(Path.of(args[3]))
                .build()) {
            GenerationRequest request = GenerationRequest.builder()
                    .prompt("一只狮子在草原上奔跑") // "a lion running on the grassland"
                    .frameRate(8)
                    .seed(1234)
                    .listener(p -> {
                        if (p.step() == p.total() || p.stage() == GenerationStage.DECODING) {
                            System.out.println(p.stage() + " done in " + p.elapsed().toMillis() + " ms");
                        }
                    })
                    .build();
            Video video = generator.generate(request);
            System.out.println(video.frameCount() + " frames, seed " + video.seed() + ", " + video.timings());
            video.write(Path.of("lion.mp4"));
        }
    }
}
