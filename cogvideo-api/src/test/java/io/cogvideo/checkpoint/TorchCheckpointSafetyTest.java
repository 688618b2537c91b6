package io.cogvideo.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import net.razorvine.pickle.Unpickler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Pickles that try to run code: nothing may run, and a state dict containing such a call must be refused. */
class TorchCheckpointSafetyTest {
    @TempDir
    Path tmp;

    /** Writes {@code module.name(...)} that would create {@code marker} if it were ever executed. */
    private static void dangerousCall(PickleWriter w, String global, Path marker) {
        switch (global) {
            case "os.system" -> w.call("os", "system", "touch " + marker);
            case "builtins.eval" -> w.call("builtins", "eval", "__import__('os').system('touch " + marker + "')");
            case "subprocess.Popen" -> {
                w.global("subprocess", "Popen").emptyList();
                w.str("touch").append().str(marker.toString()).append();
                w.tuple1().reduce();
            }
            default -> throw new IllegalArgumentException(global);
        }
    }

    private Path checkpoint(BiConsumer<PickleWriter, Path> moduleExtra, BiConsumer<PickleWriter, Path> topExtra,
            Path marker) throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().mark();
        w.str("module").global("collections", "OrderedDict").emptyTuple().reduce().mark();
        w.str("weight").tensor("FloatStorage", "0", 2);
        moduleExtra.accept(w, marker);
        w.setitems();
        topExtra.accept(w, marker);
        w.str("iteration").integer(7);
        w.setitems().stop();
        return new TorchZip("archive").pickle(w).storage("0", TorchZip.floats(1.5f, -2f)).write(tmp.resolve("c.pt"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"os.system", "builtins.eval", "subprocess.Popen"})
    void dangerousCallInsideModuleIsInertAndRefused(String global) throws IOException {
        Path marker = tmp.resolve("pwned-" + global);
        Path pt = checkpoint((w, m) -> {
            w.str("evil");
            dangerousCall(w, global, m);
        }, (w, m) -> { }, marker);

        TorchCheckpoint ckpt = TorchCheckpointReader.read(pt);
        Object evil = ((Map<?, ?>) ((Map<?, ?>) ckpt.root()).get("module")).get("evil");
        assertThat(evil).isInstanceOfSatisfying(PickleObject.class,
                o -> assertThat(o.global().qualifiedName()).isEqualTo(global));
        assertThatThrownBy(() -> ckpt.stateDict("module"))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString())
                .hasMessageContaining("'evil'")
                .hasMessageContaining("global " + global)
                .hasMessageContaining("refusing to execute code from a checkpoint");
        assertThatThrownBy(() -> TorchCheckpointReader.readModule(pt)).isInstanceOf(CheckpointException.class);
        assertThat(marker).doesNotExist();
    }

    @Test
    void bareForbiddenGlobalAsValueIsRefused() throws IOException {
        Path pt = checkpoint((w, m) -> w.str("evil").global("os", "system"), (w, m) -> { }, tmp.resolve("x"));
        assertThatThrownBy(() -> TorchCheckpointReader.readModule(pt))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("global os.system, not a tensor: refusing to execute code from a checkpoint");
    }

    @Test
    void dangerousCallsOnlyInClientStateLeaveModuleLoadable() throws IOException {
        Path marker = tmp.resolve("pwned");
        Path pt = checkpoint((w, m) -> { }, (w, m) -> {
            for (String g : List.of("os.system", "builtins.eval", "subprocess.Popen")) {
                w.str("evil " + g);
                dangerousCall(w, g, m);
            }
            // argparse.Namespace(**state) the way pickle writes it: NEWOBJ then BUILD
            w.str("args").global("argparse", "Namespace").emptyTuple().newobj();
            w.emptyDict().str("lr").floating(0.1).setitem().build();
        }, marker);

        TorchCheckpoint ckpt = TorchCheckpointReader.read(pt);
        StateDict sd = ckpt.stateDict("module");
        assertThat(sd.keys()).containsExactly("weight");
        assertThat(sd.get("weight").toFloatArray()).containsExactly(1.5f, -2f);
        Map<?, ?> root = (Map<?, ?>) ckpt.root();
        assertThat(root.get("iteration")).isEqualTo(7);
        assertThat(root.get("evil os.system")).isInstanceOfSatisfying(PickleObject.class,
                o -> assertThat(o.args()).containsExactly("touch " + marker));
        assertThat(root.get("args")).isInstanceOfSatisfying(PickleObject.class, o -> {
            assertThat(o.global()).isEqualTo(new PickleGlobal("argparse", "Namespace"));
            assertThat(o.state()).isEqualTo(Map.of("lr", 0.1));
        });
        assertThat(marker).doesNotExist();
    }

    /**
     * Razorvine keeps a process-wide registry of constructors for globals and calls them on REDUCE. A plain
     * Razorvine Unpickler springs this trap; the checkpoint reader must not consult the registry at all.
     */
    @Test
    void razorvineConstructorRegistryIsNeverConsulted() throws Exception {
        AtomicBoolean sprung = new AtomicBoolean();
        Unpickler.registerConstructor("cogvideo_trap", "boom", args -> {
            sprung.set(true);
            return "constructed";
        });
        byte[] plain = new PickleWriter().proto(2).emptyDict().str("x").call("cogvideo_trap", "boom", "a")
                .setitem().stop().bytes();
        new Unpickler().loads(plain);
        assertThat(sprung).as("the trap works with a plain Razorvine Unpickler").isTrue();
        sprung.set(false);

        Path pt = checkpoint((w, m) -> { }, (w, m) -> w.str("x").call("cogvideo_trap", "boom", "a"),
                tmp.resolve("m"));
        TorchCheckpoint ckpt = TorchCheckpointReader.read(pt);
        assertThat(sprung).as("registry consulted by the checkpoint reader").isFalse();
        assertThat(((Map<?, ?>) ckpt.root()).get("x")).isInstanceOf(PickleObject.class);
        assertThat(ckpt.stateDict("module").size()).isEqualTo(1);
    }

    @Test
    void forbiddenGlobalAsStorageTypeIsRefused() throws IOException {
        PickleWriter w = new PickleWriter().proto(2).emptyDict().str("module").emptyDict().str("w");
        w.global("torch._utils", "_rebuild_tensor_v2").mark();
        w.mark().str("storage").global("os", "system").str("0").str("cpu").integer(1).tuple().binpersid();
        w.integer(0).ints(1).ints(1).bool(false).emptyDict().tuple().reduce().setitem().setitem().stop();
        Path pt = new TorchZip("a").pickle(w).storage("0", TorchZip.floats(1f)).write(tmp.resolve("s.pt"));
        assertThatThrownBy(() -> TorchCheckpointReader.read(pt))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(pt.toString())
                .hasMessageContaining("os.system")
                .hasMessageContaining("not a torch storage class");
    }

    @Test
    void markerDirectoryIsUntouched() throws IOException {
        // Belt and braces for the parameterized test: the temp dir holds only what the tests wrote.
        Path pt = checkpoint((w, m) -> {
            w.str("evil");
            dangerousCall(w, "os.system", m);
        }, (w, m) -> { }, tmp.resolve("pwned"));
        try {
            TorchCheckpointReader.readModule(pt);
        } catch (CheckpointException expected) {
            // refused
        }
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("c.pt");
        }
    }
}
