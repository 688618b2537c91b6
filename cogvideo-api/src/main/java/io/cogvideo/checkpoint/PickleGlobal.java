package io.cogvideo.checkpoint;

import java.util.Objects;

/**
 * An inert reference to a Python global ({@code module.name}) named by a pickle through the {@code GLOBAL},
 * {@code STACK_GLOBAL} or {@code INST} opcodes. Nothing is looked up, loaded or executed for it: it is only a
 * name. The checkpoint readers turn the few globals they allow (torch tensor rebuilders, storage classes,
 * {@code collections.OrderedDict}, {@code set}, {@code frozenset}, {@code torch.Size}) into data; every other
 * global stays a {@code PickleGlobal}, and "calling" it yields a {@link PickleObject}.
 *
 * <p>Package-private: an internal of the pickle reader, not part of the module's API (the checkpoint API hands out
 * validated tensors, never pickle values to interpret).
 *
 * @param module the Python module, e.g. {@code "os"}
 * @param name   the attribute in that module, e.g. {@code "system"}
 */
record PickleGlobal(String module, String name) {

    /** Checks that both parts are present. */
    public PickleGlobal {
        Objects.requireNonNull(module, "module");
        Objects.requireNonNull(name, "name");
    }

    /** The dotted name, e.g. {@code "os.system"}. */
    public String qualifiedName() {
        return module + "." + name;
    }

    @Override
    public String toString() {
        return "global " + qualifiedName();
    }
}
