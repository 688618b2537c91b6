package io.cogvideo.video;

import io.cogvideo.CogVideoException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.jcodec.codecs.h264.H264Encoder;
import org.jcodec.codecs.h264.encode.RateControl;
import org.jcodec.codecs.h264.io.model.SliceType;
import org.jcodec.common.Codec;
import org.jcodec.common.MuxerTrack;
import org.jcodec.common.VideoCodecMeta;
import org.jcodec.common.VideoEncoder.EncodedFrame;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.io.SeekableByteChannel;
import org.jcodec.common.model.ColorSpace;
import org.jcodec.common.model.Packet;
import org.jcodec.common.model.Packet.FrameType;
import org.jcodec.common.model.Picture;
import org.jcodec.common.model.Rational;
import org.jcodec.common.model.Rect;
import org.jcodec.common.model.Size;
import org.jcodec.common.model.Unit;
import org.jcodec.containers.mp4.muxer.AbstractMP4MuxerTrack;
import org.jcodec.containers.mp4.muxer.MP4Muxer;

/**
 * Writes frames as H.264 video (Baseline profile, 4:2:0, progressive) in an MP4 container with the pure-Java
 * JCodec encoder; no native ffmpeg is needed.
 *
 * <p><b>Frame rate.</b> The fps is stored as a fraction with a denominator of at most 1001, exactly where possible
 * and otherwise as the nearest continued-fraction convergent ({@link #frameRateFraction(double)}): 8 &rarr; 8/1,
 * 12.5 &rarr; 25/2, 30000/1001.0 &rarr; 30000/1001. Each frame lasts one denominator unit in a track time scale equal
 * to the numerator, so players report {@code r_frame_rate} = that fraction. An IDR key frame starts every two seconds
 * of video ({@code round(2 fps)} frames, clamped to 1..250).
 *
 * <p><b>Odd sizes.</b> 4:2:0 H.264 needs an even width and height. An odd dimension is padded by one pixel that
 * repeats the last column or row, so a 161x121 clip becomes a 162x122 video. Sizes that are not multiples of 16 are
 * handled by frame cropping in the stream, so the decoded size is the even size. Any size from 1x1 up is accepted.
 *
 * <p><b>Colours.</b> RGB is converted to Y'CbCr with the BT.601 matrix in limited ("TV") range, Y' 16..235 and
 * Cb/Cr 16..240, with chroma averaged over each 2x2 block. The stream carries no colour description, and for such a
 * stream decoders (ffmpeg, JCodec's {@code AWTFrameGrab}, common players) assume exactly this, so colours come back
 * right. (JCodec's stock {@code SequenceEncoder} converts in full range instead; decoded, its gradients were off by
 * about 9.5 levels on average against about 1.3 here.) Alpha is ignored.
 *
 * <p><b>Quality.</b> Constant quantiser {@value #QP} for every frame. JCodec's encoder (I16x16/P16x16 macroblocks
 * only, no rate-distortion decisions) lets errors creep along smooth gradients at moderate quantisers: measured on
 * 480x480 gradients, the mean absolute error per 8-bit channel after decoding was 2 to 7 levels at quantisers 16
 * to 20, but 1 to 1.3 levels at {@value #QP} (0.85 of which is the 4:2:0 conversion itself), for roughly 1.5 times
 * the size (about 12 KB per 480x480 frame on those gradients). The quantiser is raised, macroblock by macroblock, only when a
 * frame would otherwise grow beyond the size of the uncompressed 4:2:0 frame (1.5 bytes per pixel, noise-like
 * content), and steps back once the frame is under budget again.
 *
 * <p><b>Memory.</b> The file is written through a seekable channel ({@link NIOUtils#writableChannel}): encoded frames
 * are flushed to the file in chunks of at most one second of video, and only the index ({@code moov}) is written at
 * the end; the whole encoded file is never held in memory.
 */
public final class Mp4Writer {

    /** H.264 quantiser used for every frame (0..51, lower is better and larger). */
    public static final int QP = 12;

    private static final int MAX_FPS_DENOMINATOR = 1001;
    /** Frame size the rate control aims to stay under: that of the uncompressed 4:2:0 frame. */
    private static final double SOFT_BYTES_PER_PIXEL = 1.5;
    /** Size of JCodec's slice buffer per coded pixel; must exceed SOFT_BYTES_PER_PIXEL by a macroblock's worth. */
    private static final int HARD_BYTES_PER_PIXEL = 4;
    /** Smallest slice buffer, so that a single macroblock of a tiny video always fits. */
    private static final int MIN_SLICE_BUFFER = 1 << 16;

    private Mp4Writer() {
    }

    /**
     * Encodes {@code frames} into {@code file} as H.264 in MP4, replacing an existing file only once the new one is
     * complete (through a temporary file, see {@link OutputFiles}): a failure leaves an existing file unchanged.
     *
     * @param frames non-empty list of non-null frames of the same size
     * @param fps    frames per second, {@value Frames#MIN_FPS} to {@value Frames#MAX_FPS}
     * @param file   the MP4 file to create; its parent folder must exist and be writable
     * @throws CogVideoException on invalid arguments (message names the value and the allowed range) or when
     *                           encoding or writing fails (message names the file)
     */
    public static void write(List<BufferedImage> frames, double fps, Path file) {
        Frames.validateFrames(frames);
        Frames.validateFps(fps, Frames.MAX_FPS, "MP4");
        Frames.validateOutputFile(file);
        Rational rate = frameRate(fps);
        OutputFiles.replace(file, "MP4", tmp -> encode(frames, rate, tmp));
    }

    /**
     * The width and height of the video written for frames of {@code width x height}: each rounded up to even.
     *
     * @param width  frame width in pixels
     * @param height frame height in pixels
     * @return {@code {evenWidth, evenHeight}}
     */
    public static int[] encodedSize(int width, int height) {
        return new int[] {width + (width & 1), height + (height & 1)};
    }

    /**
     * The frame rate as a fraction {@code {numerator, denominator}} with denominator at most 1001: the exact value
     * when there is one, otherwise the closest continued-fraction convergent.
     *
     * @param fps frames per second, {@value Frames#MIN_FPS} to {@value Frames#MAX_FPS}
     * @return {@code {num, den}}, both positive
     */
    public static int[] frameRateFraction(double fps) {
        Frames.validateFps(fps, Frames.MAX_FPS, "MP4");
        // Convergents h/k of the continued fraction of fps; stop at an exact match or before k exceeds the limit.
        long h = 1;
        long hPrev = 0;
        long k = 0;
        long kPrev = 1;
        double x = fps;
        for (int iter = 0; iter < 64; iter++) {
            long a = (long) Math.floor(x);
            long hNext = a * h + hPrev;
            long kNext = a * k + kPrev;
            if (kNext > MAX_FPS_DENOMINATOR) {
                break;
            }
            hPrev = h;
            h = hNext;
            kPrev = k;
            k = kNext;
            double frac = x - a;
            if (frac < 1e-12 || (h > 0 && Math.abs(fps - (double) h / k) <= 1e-9 * fps)) {
                break;
            }
            x = 1.0 / frac;
        }
        if (h <= 0 || k <= 0) {
            // Unreachable for fps >= MIN_FPS (1/100 is itself a convergent), kept as a safe fallback.
            h = 1;
            k = Math.min(MAX_FPS_DENOMINATOR, Math.max(1, Math.round(1.0 / fps)));
        }
        return new int[] {(int) h, (int) k};
    }

    private static Rational frameRate(double fps) {
        int[] f = frameRateFraction(fps);
        return Rational.R(f[0], f[1]);
    }

    private static void encode(List<BufferedImage> frames, Rational fps, Path file) throws IOException {
        int[] size = encodedSize(frames.get(0).getWidth(), frames.get(0).getHeight());
        int width = size[0];
        int height = size[1];
        int codedWidth = (width + 15) & ~15;
        int codedHeight = (height + 15) & ~15;
        int macroblocks = (codedWidth / 16) * (codedHeight / 16);

        // JCodec writes each slice into a scratch buffer of picture width x picture height bytes and fails with a
        // BufferOverflowException if one macroblock does not fit, before the rate control can react. The picture
        // handed to it is therefore taller than the video: only the top codedHeight rows are encoded (the stream
        // size comes from the crop rectangle), the rows below merely enlarge that buffer to at least
        // HARD_BYTES_PER_PIXEL per coded pixel and MIN_SLICE_BUFFER bytes. The rate control keeps the frame within
        // SOFT_BYTES_PER_PIXEL, so the last macroblock of a frame always finds room.
        long wantedBuffer = Math.max((long) HARD_BYTES_PER_PIXEL * codedWidth * codedHeight, MIN_SLICE_BUFFER);
        int pictureRows = (int) (((wantedBuffer + codedWidth - 1) / codedWidth + 15) & ~15L);
        Picture picture = Picture.createCropped(codedWidth, pictureRows, ColorSpace.YUV420J,
                new Rect(0, 0, width, height));
        long sliceBuffer = (long) codedWidth * pictureRows;
        // Room for SPS/PPS plus the slice after emulation-prevention escaping (at most 3 bytes per 2).
        ByteBuffer buffer = ByteBuffer.allocate((int) (sliceBuffer * 3 / 2 + 65536));

        long softBudgetBits = (long) (8 * SOFT_BYTES_PER_PIXEL * codedWidth * codedHeight);
        H264Encoder encoder = new H264Encoder(new ConstantQpRateControl(QP, macroblocks, softBudgetBits));
        encoder.setKeyInterval((int) Math.max(1, Math.min(250, Math.round(2 * fps.toDouble()))));

        try (SeekableByteChannel channel = NIOUtils.writableChannel(file.toFile())) {
            MP4Muxer muxer = MP4Muxer.createMP4MuxerToChannel(channel);
            MuxerTrack track = muxer.addVideoTrack(Codec.H264,
                    VideoCodecMeta.createSimpleVideoCodecMeta(new Size(width, height), ColorSpace.YUV420J));
            if (track instanceof AbstractMP4MuxerTrack) {
                ((AbstractMP4MuxerTrack) track).setTgtChunkDuration(Rational.ONE, Unit.SEC);
            }
            for (int i = 0; i < frames.size(); i++) {
                toYCbCr420(frames.get(i), picture, codedWidth, codedHeight);
                buffer.clear();
                EncodedFrame encoded = encoder.encodeFrame(picture, buffer);
                // The muxer keeps packets until a chunk is full, so the shared buffer must be copied.
                ByteBuffer data = NIOUtils.clone(encoded.getData());
                track.addFrame(Packet.createPacket(data, (long) i * fps.getDen(), fps.getNum(), fps.getDen(), i,
                        encoded.isKeyFrame() ? FrameType.KEY : FrameType.INTER, null));
            }
            muxer.finish();
        }
    }

    /**
     * Fills the top-left {@code codedWidth x codedHeight} area (both even) of {@code dst} with BT.601 limited-range
     * Y'CbCr 4:2:0 computed from {@code image}, repeating the last column/row of the image into the padding. JCodec
     * stores samples minus 128.
     */
    static void toYCbCr420(BufferedImage image, Picture dst, int codedWidth, int codedHeight) {
        int srcW = image.getWidth();
        int srcH = image.getHeight();
        byte[] yPlane = dst.getPlaneData(0);
        byte[] cbPlane = dst.getPlaneData(1);
        byte[] crPlane = dst.getPlaneData(2);
        int yStride = dst.getPlaneWidth(0);
        int cStride = dst.getPlaneWidth(1);
        int[] top = new int[srcW];
        int[] bottom = new int[srcW];
        for (int cy = 0; cy < codedHeight / 2; cy++) {
            int y0 = Math.min(2 * cy, srcH - 1);
            int y1 = Math.min(2 * cy + 1, srcH - 1);
            image.getRGB(0, y0, srcW, 1, top, 0, srcW);
            image.getRGB(0, y1, srcW, 1, bottom, 0, srcW);
            for (int cx = 0; cx < codedWidth / 2; cx++) {
                int x0 = Math.min(2 * cx, srcW - 1);
                int x1 = Math.min(2 * cx + 1, srcW - 1);
                int p00 = top[x0];
                int p01 = top[x1];
                int p10 = bottom[x0];
                int p11 = bottom[x1];
                int row0 = 2 * cy * yStride + 2 * cx;
                int row1 = row0 + yStride;
                yPlane[row0] = luma(p00);
                yPlane[row0 + 1] = luma(p01);
                yPlane[row1] = luma(p10);
                yPlane[row1 + 1] = luma(p11);
                double r = (red(p00) + red(p01) + red(p10) + red(p11)) / 4.0;
                double g = (green(p00) + green(p01) + green(p10) + green(p11)) / 4.0;
                double b = (blue(p00) + blue(p01) + blue(p10) + blue(p11)) / 4.0;
                int c = cy * cStride + cx;
                cbPlane[c] = sample(128 + (224.0 / 255.0) * (-0.168736 * r - 0.331264 * g + 0.5 * b), 16, 240);
                crPlane[c] = sample(128 + (224.0 / 255.0) * (0.5 * r - 0.418688 * g - 0.081312 * b), 16, 240);
            }
        }
    }

    private static byte luma(int rgb) {
        return sample(16 + (219.0 / 255.0) * (0.299 * red(rgb) + 0.587 * green(rgb) + 0.114 * blue(rgb)), 16, 235);
    }

    private static byte sample(double v, int min, int max) {
        long s = Math.round(v);
        return (byte) (Math.max(min, Math.min(max, s)) - 128);
    }

    private static int red(int rgb) {
        return (rgb >> 16) & 0xff;
    }

    private static int green(int rgb) {
        return (rgb >> 8) & 0xff;
    }

    private static int blue(int rgb) {
        return rgb & 0xff;
    }


    /**
     * Constant quantiser with a size guard: if the bits spent so far in a frame exceed the pro-rata share of the soft
     * budget, the macroblock is re-encoded one quantiser step coarser; the quantiser steps back toward the base value
     * once the frame has used at most half of its pro-rata share again.
     */
    private static final class ConstantQpRateControl implements RateControl {
        private final int baseQp;
        private final int macroblocks;
        private final long budgetBits;
        private int qp;
        private long bitsPerMb;
        private long usedBits;
        private long lastBits;
        private int mbIndex;
        private boolean firstMb;

        ConstantQpRateControl(int qp, int macroblocks, long budgetBits) {
            this.baseQp = qp;
            this.macroblocks = macroblocks;
            this.budgetBits = budgetBits;
        }

        @Override
        public int startPicture(Size sz, int maxSize, SliceType sliceType) {
            // maxSize is JCodec's hard limit (the enlarged slice buffer); aim for the soft budget when it is smaller.
            long limitBits = Math.min(budgetBits, 8L * maxSize);
            bitsPerMb = Math.max(1, limitBits / macroblocks);
            qp = baseQp;
            usedBits = 0;
            lastBits = 0;
            mbIndex = 0;
            firstMb = true;
            return baseQp;
        }

        @Override
        public int initialQpDelta() {
            if (firstMb) {
                firstMb = false;
                return 0;
            }
            usedBits += lastBits;
            mbIndex++;
            if (qp > baseQp && 2 * usedBits <= mbIndex * bitsPerMb) {
                qp--;
                return -1;
            }
            return 0;
        }

        @Override
        public int accept(int bits) {
            lastBits = bits;
            if (usedBits + bits > (mbIndex + 1L) * bitsPerMb && qp < 51) {
                qp++;
                return 1;
            }
            return 0;
        }
    }
}
