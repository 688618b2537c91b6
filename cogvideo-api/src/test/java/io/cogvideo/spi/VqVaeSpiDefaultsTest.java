package io.cogvideo.spi;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** A backend that does not implement the image operations still compiles and fails clearly when they are used. */
class VqVaeSpiDefaultsTest {

    private static Backend stub() {
        InvocationHandler h = (proxy, m, args) -> {
            if (m.getName().equals("name")) {
                return "stub";
            }
            if (m.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, m, args);
            }
            throw new AssertionError("unexpected call " + m.getName());
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    private static void fails(ThrowingCallable call, String op) {
        assertThatThrownBy(call).isInstanceOf(UnsupportedOperationException.class)
                .hasMessage(op + " is not implemented by backend stub");
    }

    @Test
    void imageOperationsThrowNamingOperationAndBackend() {
        Backend b = stub();
        fails(() -> b.conv2d(null, null, null, 1, 0, 0, 0, 0), "conv2d");
        fails(() -> b.groupNorm(null, 32, null, null, 1e-6f), "groupNorm");
        fails(() -> b.swish(null), "swish");
        fails(() -> b.groupNormSwish(null, 32, null, null, 1e-6f), "groupNorm");
        fails(() -> b.upsampleNearest2x(null), "upsampleNearest2x");
        fails(() -> b.avgPool2x2(null), "avgPool2x2");
        fails(() -> b.spatialAttention(null, null, null), "spatialAttention");
        fails(() -> b.codebookNearest(null, null), "codebookNearest");
        fails(() -> b.codebookLookup(null, new int[0], 1, 1, 1), "codebookLookup");
    }
}
