package io.cogvideo.tokenizer;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;

/**
 * The subset of SentencePiece's {@code sentencepiece_model.proto} (proto2) this tokenizer reads, declared as a
 * protobuf descriptor so that protobuf-java's {@code DynamicMessage} parses {@code .model} files (no generated code,
 * no protoc at build time). Field numbers and defaults are those of the SentencePiece schema; unknown fields are
 * kept by protobuf and ignored here.
 */
final class SentencePieceProto {
    static final Descriptor MODEL;
    static final Descriptor PIECE;
    static final Descriptor TRAINER;
    static final Descriptor NORMALIZER;

    /** {@code ModelProto.SentencePiece.Type} values. */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    /** {@code TrainerSpec.ModelType} values. */
    static final int UNIGRAM = 1;
    static final int BPE = 2;

    private SentencePieceProto() {
    }

    private static FieldDescriptorProto field(String name, int number, Type type, String typeName, String dflt,
            boolean repeated) {
        FieldDescriptorProto.Builder b = FieldDescriptorProto.newBuilder().setName(name).setNumber(number)
                .setType(type).setLabel(repeated ? Label.LABEL_REPEATED : Label.LABEL_OPTIONAL);
        if (typeName != null) {
            b.setTypeName(typeName);
        }
        if (dflt != null) {
            b.setDefaultValue(dflt);
        }
        return b.build();
    }

    static {
        DescriptorProto piece = DescriptorProto.newBuilder().setName("SentencePiece")
                .addField(field("piece", 1, Type.TYPE_STRING, null, null, false))
                .addField(field("score", 2, Type.TYPE_FLOAT, null, null, false))
                // an enum in the schema; read as its varint value (same wire format)
                .addField(field("type", 3, Type.TYPE_INT32, null, "1", false))
                .build();
        DescriptorProto model = DescriptorProto.newBuilder().setName("ModelProto")
                .addNestedType(piece)
                .addField(field("pieces", 1, Type.TYPE_MESSAGE, ".sentencepiece.ModelProto.SentencePiece", null, true))
                .addField(field("trainer_spec", 2, Type.TYPE_MESSAGE, ".sentencepiece.TrainerSpec", null, false))
                .addField(field("normalizer_spec", 3, Type.TYPE_MESSAGE, ".sentencepiece.NormalizerSpec", null, false))
                .addField(field("denormalizer_spec", 5, Type.TYPE_MESSAGE, ".sentencepiece.NormalizerSpec", null, false))
                .build();
        DescriptorProto trainer = DescriptorProto.newBuilder().setName("TrainerSpec")
                .addField(field("model_type", 3, Type.TYPE_INT32, null, "1", false))
                .addField(field("vocab_size", 4, Type.TYPE_INT32, null, "8000", false))
                .addField(field("treat_whitespace_as_suffix", 24, Type.TYPE_BOOL, null, "false", false))
                .addField(field("byte_fallback", 35, Type.TYPE_BOOL, null, "false", false))
                .addField(field("unk_id", 40, Type.TYPE_INT32, null, "0", false))
                .addField(field("bos_id", 41, Type.TYPE_INT32, null, "1", false))
                .addField(field("eos_id", 42, Type.TYPE_INT32, null, "2", false))
                .addField(field("pad_id", 43, Type.TYPE_INT32, null, "-1", false))
                .addField(field("unk_surface", 44, Type.TYPE_STRING, null, " \u2047 ", false))
                .build();
        DescriptorProto normalizer = DescriptorProto.newBuilder().setName("NormalizerSpec")
                .addField(field("name", 1, Type.TYPE_STRING, null, null, false))
                .addField(field("precompiled_charsmap", 2, Type.TYPE_BYTES, null, null, false))
                .addField(field("add_dummy_prefix", 3, Type.TYPE_BOOL, null, "true", false))
                .addField(field("remove_extra_whitespaces", 4, Type.TYPE_BOOL, null, "true", false))
                .addField(field("escape_whitespaces", 5, Type.TYPE_BOOL, null, "true", false))
                .build();
        FileDescriptorProto file = FileDescriptorProto.newBuilder().setName("sentencepiece_model_subset.proto")
                .setPackage("sentencepiece").setSyntax("proto2")
                .addMessageType(model).addMessageType(trainer).addMessageType(normalizer).build();
        try {
            FileDescriptor fd = FileDescriptor.buildFrom(file, new FileDescriptor[0]);
            MODEL = fd.findMessageTypeByName("ModelProto");
            PIECE = MODEL.findNestedTypeByName("SentencePiece");
            TRAINER = fd.findMessageTypeByName("TrainerSpec");
            NORMALIZER = fd.findMessageTypeByName("NormalizerSpec");
        } catch (DescriptorValidationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
