package io.cogvideo.backend.cuda;

import io.cogvideo.spi.BackendProvider;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs a test class only where the CUDA backend is available; elsewhere the class is skipped with the provider's
 * reason (shown in the surefire report), before any {@code @BeforeAll} runs. The GPU suites use this rather than an
 * assumption in {@code @BeforeAll} because the shared test kits' {@code @AfterAll} methods expect their set-up to
 * have happened.
 */
public final class RequiresCuda implements ExecutionCondition {

    static BackendProvider.Availability availability() {
        return new CudaBackendProvider().availability();
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        BackendProvider.Availability a = availability();
        if (a.available()) {
            return ConditionEvaluationResult.enabled("CUDA available: " + a.reason());
        }
        String reason = "skipped, needs a CUDA GPU: " + a.reason();
        context.getTestClass().ifPresent(c -> System.out.println("[cuda] " + c.getSimpleName() + " " + reason));
        return ConditionEvaluationResult.disabled(reason);
    }
}
