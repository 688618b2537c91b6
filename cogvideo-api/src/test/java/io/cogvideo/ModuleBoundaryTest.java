package io.cogvideo;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.lang.module.Configuration;
import java.lang.module.FindException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.module.ResolvedModule;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The module boundary of {@code io.cogvideo.api}, checked the way a user sees it: tiny host modules are compiled with
 * {@code javac} against the exploded module ({@code target/classes}) and its dependencies on the module path. What a
 * user and a backend author need compiles; the internals ({@code io.cogvideo.model}, {@code io.cogvideo.generation},
 * {@code io.cogvideo.tokenizer.image}, the pickle machinery) do not. The descriptor's exports are pinned, the module
 * graph is resolved as the JVM would, and the module is run in a layer of its own (resources, images, MP4, JSON);
 * class-path users (the other cogvideo-java modules) must still reach the internals.
 *
 * <p>The other tests of this module run on the class path (surefire {@code useModulePath=false}), where the module
 * descriptor is ignored; this one is the only check of the descriptor itself. Dependency jars are taken from the test
 * class path, keeping only the modules {@code io.cogvideo.api} requires (transitively): the test class path also holds
 * test-only automatic modules (e.g. jcodec-javase, which splits packages with jcodec) that a user's module path would
 * not.
 */
class ModuleBoundaryTest {
    private static final String API = "io.cogvideo.api";

    /** Exported packages: the user API, the backend SPI, and what tokenizer, checkpoint and video users need. */
    private static final Set<String> EXPORTED = Set.of("io.cogvideo", "io.cogvideo.spi", "io.cogvideo.tokenizer",
            "io.cogvideo.checkpoint", "io.cogvideo.video", "io.cogvideo.training", "io.cogvideo.training.vq");

    /** target/classes: the exploded io.cogvideo.api module. */
    private static Path exploded;
    /** The exploded module, then the jars of every module it needs, in resolution order. */
    private static List<Path> modulePath;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findModulePath() throws URISyntaxException {
        exploded = Path.of(VideoGenerator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        boolean present = Files.isDirectory(exploded) && Files.isRegularFile(exploded.resolve("module-info.class"));
        Assumptions.assumeTrue(present,
                "the exploded module is not present: io.cogvideo.VideoGenerator was loaded from " + exploded
                        + ", which is not a directory holding module-info.class (run through Maven after"
                        + " compiling cogvideo-api)");
        modulePath = resolveModulePath(exploded);
    }

    @Test
    void descriptorExportsOnlyTheApiAndUsesTheBackendProvider() {
        ModuleDescriptor d = apiDescriptor();
        assertThat(d.isAutomatic()).isFalse();
        assertThat(d.exports()).allSatisfy(e -> assertThat(e.isQualified()).as("export of %s is qualified",
                e.source()).isFalse());
        Set<String> exported = d.exports().stream().map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(exported).containsExactlyInAnyOrderElementsOf(EXPORTED);
        assertThat(d.packages()).contains("io.cogvideo.model", "io.cogvideo.generation", "io.cogvideo.tokenizer.image");
        assertThat(d.opens()).isEmpty();
        assertThat(d.uses()).containsExactly("io.cogvideo.spi.BackendProvider");
    }

    @Test
    void moduleGraphResolvesWithoutSplitPackages() {
        ModuleFinder finder = ModuleFinder.of(modulePath.toArray(Path[]::new));
        Configuration cf = Configuration.resolveAndBind(finder, List.of(ModuleLayer.boot().configuration()),
                ModuleFinder.of(), Set.of(API));
        Set<String> names = cf.modules().stream().map(ResolvedModule::name).collect(Collectors.toSet());
        assertThat(names).contains(API, "com.fasterxml.jackson.databind", "org.slf4j", "pickle", "jcodec");
    }

    @Test
    void runsAsANamedModuleInItsOwnLayer() throws Exception {
        // The api and its dependencies as named modules in a fresh layer over the JDK (nothing from the class path):
        // the module's own resources, java.desktop/java.xml (GIF), jcodec (MP4) and jackson (safetensors header)
        // must all link and work.
        Configuration cf = ModuleLayer.boot().configuration()
                .resolveAndBind(ModuleFinder.of(modulePath.toArray(Path[]::new)), ModuleFinder.of(), Set.of(API));
        ModuleLayer.Controller controller = ModuleLayer.defineModulesWithOneLoader(cf, List.of(ModuleLayer.boot()),
                ClassLoader.getPlatformClassLoader());
        Module api = controller.layer().findModule(API).orElseThrow();
        assertThat(api.getDescriptor().isAutomatic()).isFalse();

        // bundled resource io/cogvideo/assets/cluster_label2.npy, read by the module's own (non-exported) code
        assertThat(api.isExported("io.cogvideo.generation")).isFalse();
        controller.addExports(api, "io.cogvideo.generation", ModuleBoundaryTest.class.getModule());
        Class<?> sampler = Class.forName(api, "io.cogvideo.generation.ClusterSampler");
        assertThat(sampler.getModule()).isSameAs(api);
        assertThat((int[]) sampler.getMethod("bundledTable").invoke(null)).hasSize(20000);

        Class<?> writers = Class.forName(api, "io.cogvideo.video.VideoWriters");
        List<BufferedImage> frames = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            BufferedImage f = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
            f.setRGB(i * 8, i * 8, 0xff8040);
            frames.add(f);
        }
        for (String file : List.of("clip.gif", "clip.mp4")) {
            Path out = tmp.resolve(file);
            writers.getMethod("write", List.class, double.class, Path.class).invoke(null, frames, 8.0, out);
            assertThat(Files.size(out)).as(file).isPositive();
        }

        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
                .getBytes(StandardCharsets.US_ASCII);
        ByteBuffer file = ByteBuffer.allocate(8 + header.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(header.length).put(header).putFloat(1.5f).putFloat(-2f);
        Path st = Files.write(tmp.resolve("w.safetensors"), file.array());
        Class<?> reader = Class.forName(api, "io.cogvideo.checkpoint.SafetensorsReader");
        try (AutoCloseable sd = (AutoCloseable) reader.getMethod("read", Path.class).invoke(null, st)) {
            assertThat(sd.getClass().getMethod("keys").invoke(sd)).isEqualTo(Set.of("w"));
        }
    }

    @Test
    void userAndBackendAuthorCodeCompilesAgainstTheExportedPackages() throws IOException {
        Compilation c = compileHost("host.ok", """
                package host.ok;

                import com.fasterxml.jackson.databind.JsonNode;
                import io.cogvideo.GenerationRequest;
                import io.cogvideo.Video;
                import io.cogvideo.VideoGenerator;
                import io.cogvideo.checkpoint.SatCheckpoint;
                import io.cogvideo.checkpoint.StateDict;
                import io.cogvideo.checkpoint.TorchCheckpointReader;
                import io.cogvideo.spi.Backend;
                import io.cogvideo.spi.BackendProvider;
                import io.cogvideo.spi.FusedAttention;
                import io.cogvideo.spi.Tensor;
                import io.cogvideo.tokenizer.IceTokenizer;
                import io.cogvideo.video.VideoFormat;
                import java.awt.image.BufferedImage;
                import java.nio.file.Path;
                import java.util.List;
                import java.util.Optional;

                public final class Main {
                    private Main() {
                    }

                    static Class<?> generator() {
                        return VideoGenerator.class;
                    }

                    static Class<?> request() {
                        return GenerationRequest.class;
                    }

                    /** A backend author's view: the primitive layer and an op pack found by capability. */
                    static Optional<FusedAttention> fused(Backend backend) {
                        return backend.find(FusedAttention.class);
                    }

                    static Tensor residual(Backend backend, Tensor x, Tensor y) {
                        return backend.add(x, y);
                    }

                    static Class<?> provider() {
                        return BackendProvider.class;
                    }

                    /** java.desktop and jackson-databind come with the api (requires transitive). */
                    static List<BufferedImage> frames(Video video) {
                        return video.frames(0);
                    }

                    static JsonNode config(SatCheckpoint checkpoint) {
                        return checkpoint.configJson();
                    }

                    static StateDict weights(Path pt) {
                        return TorchCheckpointReader.readModule(pt);
                    }

                    static Object tokenizerAndFormat() {
                        return List.of(IceTokenizer.class, VideoFormat.GIF);
                    }
                }
                """);
        assertThat(c.success()).as("host.ok must compile; javac said:%n%s", c.messages()).isTrue();
    }

    @ParameterizedTest(name = "{0} is not accessible")
    @CsvSource(delimiter = '|', value = {
        "io.cogvideo.model.CogVideoModel | package io.cogvideo.model is not visible | does not export it",
        "io.cogvideo.generation.CogVideoPipeline | package io.cogvideo.generation is not visible | does not export it",
        "io.cogvideo.tokenizer.image.ImageTokenizer | package io.cogvideo.tokenizer.image is not visible"
                + " | does not export it",
        "io.cogvideo.checkpoint.PickleObject | io.cogvideo.checkpoint.PickleObject is not public"
                + " | cannot be accessed from outside package",
    })
    void internalsDoNotCompile(String type, String expected, String reason) throws IOException {
        String simple = type.substring(type.lastIndexOf('.') + 1);
        Compilation c = compileHost("host.bad", """
                package host.bad;

                import %s;

                public final class Main {
                    private Main() {
                    }

                    static String name(%s value) {
                        return String.valueOf(value);
                    }
                }
                """.formatted(type, simple));
        assertThat(c.success()).as("host.bad importing %s must not compile", type).isFalse();
        assertThat(c.errors()).as("javac errors").anySatisfy(m -> assertThat(m).contains(expected).contains(reason));
    }

    @Test
    void classPathUsersStillReachTheInternals() throws IOException {
        // The other cogvideo-java modules, the CLI and the test kit use the api on the class path, where the module
        // descriptor is ignored: the non-exported packages must stay usable there.
        String cp = modulePath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        Compilation c = compile("host.classpath", """
                package host.classpath;

                import io.cogvideo.generation.CogVideoPipeline;
                import io.cogvideo.model.Block;
                import io.cogvideo.model.CogVideoModel;
                import io.cogvideo.model.InferenceState;

                public final class Main {
                    private Main() {
                    }

                    static Object internals(CogVideoModel model, InferenceState state, Block block) {
                        return java.util.List.of(CogVideoPipeline.class, model, state.nextIndex(), block.qkvW());
                    }
                }
                """, null, List.of("--class-path", cp));
        assertThat(c.success()).as("a class-path user must compile; javac said:%n%s", c.messages()).isTrue();
    }

    /** What javac said about one host module. */
    private record Compilation(boolean success, List<String> errors, String messages) {
    }

    /** Compiles the one-class module {@code name} (package {@code name}, class {@code Main}) on the module path. */
    private Compilation compileHost(String name, String mainSource) throws IOException {
        Path dir = tmp.resolve(name);
        Path info = Files.writeString(Files.createDirectories(dir.resolve("src")).resolve("module-info.java"),
                "module " + name + " {\n    requires " + API + ";\n}\n");
        String mp = modulePath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        // an explicit, empty class path: in-process javac would otherwise default to this JVM's class path, where
        // every package of the api is visible from the unnamed module
        Path noClassPath = Files.createDirectories(dir.resolve("no-class-path"));
        return compile(name, mainSource, info, List.of("--module-path", mp, "--class-path", noClassPath.toString()));
    }

    /**
     * Compiles class {@code Main} of package {@code name} (and {@code moduleInfo}, if not null) at {@code --release 17}
     * with the given path options.
     */
    private Compilation compile(String name, String mainSource, Path moduleInfo, List<String> pathOptions)
            throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac).as("a JDK with javac is needed to compile the host modules (running on a JRE?)").isNotNull();
        Path dir = tmp.resolve(name);
        Path out = Files.createDirectories(dir.resolve("classes"));
        Path pkg = Files.createDirectories(dir.resolve("src").resolve(name.replace('.', File.separatorChar)));
        Path main = Files.writeString(pkg.resolve("Main.java"), mainSource);
        List<String> options = new ArrayList<>(List.of("--release", "17", "-d", out.toString()));
        options.addAll(pathOptions);
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StringWriter log = new StringWriter();
        boolean ok;
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            Iterable<? extends JavaFileObject> sources = moduleInfo == null ? files.getJavaFileObjects(main)
                    : files.getJavaFileObjects(moduleInfo, main);
            ok = javac.getTask(log, files, diagnostics, options, null, sources).call();
        }
        List<String> errors = new ArrayList<>();
        StringBuilder all = new StringBuilder(log.toString());
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            String m = d.getMessage(Locale.ROOT);
            all.append(d.getKind()).append(" line ").append(d.getLineNumber()).append(": ").append(m).append('\n');
            if (d.getKind() == Diagnostic.Kind.ERROR) {
                errors.add(m);
            }
        }
        return new Compilation(ok, errors, all.toString());
    }

    private static ModuleDescriptor apiDescriptor() {
        return ModuleFinder.of(exploded).find(API)
                .orElseThrow(() -> new AssertionError(exploded + " holds no module named " + API))
                .descriptor();
    }

    /**
     * The exploded module followed by the class-path jars of every module it needs, found by following the
     * non-static {@code requires} of explicit modules (automatic modules declare none); modules of the JDK are not
     * listed. Fails naming the module when a requirement is neither in the JDK nor on the class path.
     */
    private static List<Path> resolveModulePath(Path explodedModule) {
        Map<String, Path> jarsByModule = new LinkedHashMap<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!entry.endsWith(".jar") || !Files.isRegularFile(p)) {
                continue;
            }
            try {
                for (ModuleReference ref : ModuleFinder.of(p).findAll()) {
                    jarsByModule.putIfAbsent(ref.descriptor().name(), p);
                }
            } catch (FindException e) {
                // a jar with no valid module name (not one of ours): it cannot be required, so it is not needed
            }
        }
        ModuleFinder system = ModuleFinder.ofSystem();
        List<Path> path = new ArrayList<>(List.of(explodedModule));
        Set<String> seen = new TreeSet<>(Set.of(API));
        Deque<ModuleDescriptor> todo = new ArrayDeque<>(List.of(apiDescriptor()));
        while (!todo.isEmpty()) {
            ModuleDescriptor d = todo.pop();
            for (ModuleDescriptor.Requires r : d.requires()) {
                String n = r.name();
                if (r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC) || !seen.add(n)
                        || system.find(n).isPresent()) {
                    continue;
                }
                Path jar = jarsByModule.get(n);
                assertThat(jar).as("module %s (required by %s) is neither in the JDK nor on the test class path",
                        n, d.name()).isNotNull();
                path.add(jar);
                todo.push(ModuleFinder.of(jar).find(n).orElseThrow().descriptor());
            }
        }
        return List.copyOf(path);
    }
}
