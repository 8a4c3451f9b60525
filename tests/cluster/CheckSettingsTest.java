package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import azure.Clouds;
import azure.Stack;
import azure.StackFacts;
import org.junit.jupiter.api.Test;

/** The stack check's settings on a cluster of the user's: no stack is made up for it. */
class CheckSettingsTest {
    static final StackFacts FACTS = new StackFacts("", "metaflow", "metaflow", "https://st.blob.core.windows.net/", "metaflow-storage-container/metaflow",
            "cid", "tid", false, null, StackFacts.DEFAULT_POOLS, null);

    @Test
    void withoutAStackTheProbesUseTheNamesEveryStackUsesInTheCluster() {
        Check.Settings s = Check.settings(null, FACTS, true, 0, null, Clouds.named("public"), Check.Bounds.of(60_000, 100));
        Stack any = Stack.of("acme", "default", "westeurope", Clouds.named("public"));
        assertEquals(any.kubeNamespace(), s.namespace());
        assertEquals(any.kubeServiceAccount(), s.serviceAccount());
        assertEquals("https://st.blob.core.windows.net/metaflow-storage-container/metaflow", s.blobUrl());
        assertFalse(s.config().has("METAFLOW_KUBERNETES_NODE_SELECTOR"), "no worker pool on a cluster of the user's");
        // ... the same as for a named stack.
        Check.Settings named = Check.settings(any, FACTS, true, 0, null, Clouds.named("public"), Check.Bounds.of(60_000, 100));
        assertEquals(named.config(), s.config());
    }
}
