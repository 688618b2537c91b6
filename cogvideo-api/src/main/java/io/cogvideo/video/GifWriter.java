package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.FileImageOutputStream;
import javax.imageio.stream.ImageOutputStream;
import org.w3c.dom.Node;

/**
 * Writes frames as an animated GIF with the JDK's own ImageIO GIF writer (no extra dependency).
 *
 * <p><b>Looping.</b> The first frame carries a NETSCAPE2.0 application extension with loop count 0, so viewers
 * repeat the animation forever.
 *
 * <p><b>Timing.</b> GIF frame delays are whole centiseconds, so a frame of {@code 100 / fps} cs generally cannot be
 * represented exactly (8 fps means 12.5 cs). Frame {@code i} is shown for
 * {@code round(100 (i + 1) / fps) - round(100 i / fps)} cs, i.e. the delays alternate between the two neighbouring
 * whole values (8 fps: 13, 12, 13, 12, ...) so that every frame starts within half a centisecond of its exact time and
 * the average rate over the clip is exact up to that half centisecond; see
 * {@link #frameDelaysCentiseconds(int, double)}.
 * Browsers show delays below 2 cs as 10 cs, so this writer accepts at most {@value #MAX_FPS} fps; use
 * {@link Mp4Writer} for faster clips.
 *
 * <p><b>Colours.</b> The ImageIO writer reduces each frame to its own palette of at most 256 colours, without
 * dithering (the first frame's palette becomes the global colour table, later frames get local ones), so smooth
 * gradients show some banding. Alpha is ignored: every pixel is written opaque. Every frame replaces the previous one
 * completely (disposal "none", no transparency).
 *
 * <p><b>Memory.</b> Frames are encoded one after the other straight into the output file; the encoded file is never
 * held in memory.
 */
public final class GifWriter {

    /** Highest frame rate accepted: 50 fps gives 2 cs per frame, the smallest delay browsers honour. */
    public static final double MAX_FPS = 50.0;

    private static final String GIF_IMAGE_FORMAT = "javax_imageio_gif_image_1.0";

    private GifWriter() {
    }

    /**
     * Writes {@code frames} to {@code file} as a looping animated GIF, replacing an existing file only once the new one
     * is complete (through a temporary file, see {@link OutputFiles}): a failure leaves an existing file unchanged.
     *
     * @param frames non-empty list of non-null frames of the same size
     * @param fps    frames per second, {@value Frames#MIN_FPS} to {@value #MAX_FPS}
     * @param file   the GIF file to create; its parent folder must exist and be writable
     * @throws CogVideoException on invalid arguments (message names the value and the allowed range) or when
     *                           writing fails (message names the file)
     */
    public static void write(List<BufferedImage> frames, double fps, Path file) {
        Frames.validateFrames(frames);
        Frames.validateFps(fps, MAX_FPS, "GIF");
        Frames.validateOutputFile(file);
        int[] delays = frameDelaysCentiseconds(frames.size(), fps);
        OutputFiles.replace(file, "GIF", tmp -> writeGif(frames, delays, tmp));
    }

    /**
     * The per-frame delays this writer uses: frame {@code i} lasts
     * {@code round(100 (i + 1) / fps) - round(100 i / fps)} centiseconds ({@link Math#round(double)}, halves round up), so the delays sum to {@code round(100 n / fps)} and
     * differ by at most one centisecond. Example: 8 fps gives 13, 12, 13, 12, ...; 10 fps gives 10, 10, ...
     *
     * @param frameCount number of frames, at least 1
     * @param fps        frames per second, {@value Frames#MIN_FPS} to {@value #MAX_FPS}
     * @return one delay per frame, each between 2 and 10000 centiseconds
     * @throws CogVideoException if {@code frameCount < 1} or fps is out of range
     */
    public static int[] frameDelaysCentiseconds(int frameCount, double fps) {
        if (frameCount < 1) {
            throw new CogVideoException("frameCount " + frameCount + " is out of range; expected at least 1");
        }
        Frames.validateFps(fps, MAX_FPS, "GIF");
        int[] delays = new int[frameCount];
        long previous = 0;
        for (int i = 0; i < frameCount; i++) {
            long next = Math.round((i + 1) * 100.0 / fps);
            delays[i] = (int) (next - previous);
            previous = next;
        }
        return delays;
    }

    private static void writeGif(List<BufferedImage> frames, int[] delays, Path file) throws IOException {
        ImageWriter writer = gifWriter();
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            try (ImageOutputStream out = new FileImageOutputStream(raf)) {
                writer.setOutput(out);
                ImageWriteParam param = writer.getDefaultWriteParam();
                ImageTypeSpecifier type = ImageTypeSpecifier.createFromBufferedImageType(BufferedImage.TYPE_INT_RGB);
                writer.prepareWriteSequence(null);
                for (int i = 0; i < frames.size(); i++) {
                    IIOMetadata metadata = writer.getDefaultImageMetadata(type, param);
                    configureFrame(metadata, delays[i], i == 0);
                    writer.writeToSequence(new IIOImage(Frames.toOpaqueRgb(frames.get(i)), null, metadata), param);
                }
                writer.endWriteSequence();
            }
        } finally {
            writer.dispose();
        }
    }

    private static ImageWriter gifWriter() {
        Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("gif");
        if (!writers.hasNext()) {
            throw new CogVideoException("this JDK has no ImageIO GIF writer");
        }
        return writers.next();
    }

    private static void configureFrame(IIOMetadata metadata, int delayCs, boolean first)
            throws IIOInvalidTreeException {
        IIOMetadataNode root = (IIOMetadataNode) metadata.getAsTree(GIF_IMAGE_FORMAT);

        IIOMetadataNode gce = child(root, "GraphicControlExtension");
        gce.setAttribute("disposalMethod", "none");
        gce.setAttribute("userInputFlag", "FALSE");
        gce.setAttribute("transparentColorFlag", "FALSE");
        gce.setAttribute("transparentColorIndex", "0");
        gce.setAttribute("delayTime", Integer.toString(delayCs));

        if (first) {
            IIOMetadataNode extensions = child(root, "ApplicationExtensions");
            IIOMetadataNode loop = new IIOMetadataNode("ApplicationExtension");
            loop.setAttribute("applicationID", "NETSCAPE");
            loop.setAttribute("authenticationCode", "2.0");
            // Sub-block 1 = loop count, little-endian 16 bit; 0 = loop forever.
            loop.setUserObject(new byte[] {1, 0, 0});
            extensions.appendChild(loop);
        }
        metadata.setFromTree(GIF_IMAGE_FORMAT, root);
    }

    private static IIOMetadataNode child(IIOMetadataNode parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (name.equals(n.getNodeName())) {
                return (IIOMetadataNode) n;
            }
        }
        IIOMetadataNode node = new IIOMetadataNode(name);
        parent.appendChild(node);
        return node;
    }

}
