import static org.junit.jupiter.api.Assertions.*;

import azure.Clouds;
import azure.Settings;
import azure.Stack;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The naming scheme: every legal input gives names Azure accepts; every illegal one is refused with its option. */
class StackTest {
    static final Pattern STORAGE = Pattern.compile("[a-z0-9]{3,24}");
    static final Pattern POSTGRES = Pattern.compile("[a-z0-9][a-z0-9-]{1,61}[a-z0-9]");
    static final Pattern AKS = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}");
    static final Pattern DNS_PREFIX = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9-]{0,52}[a-zA-Z0-9]");
    static final Pattern POOL = Pattern.compile("[a-z][a-z0-9]{0,11}");
    static final Pattern GROUP = Pattern.compile("[-\\w._()]{1,90}");

    static Stack stack(String prefix, String env, String location) {
        return Stack.of(prefix, env, location, Clouds.PUBLIC);
    }

    @ParameterizedTest
    @CsvSource({"a,b", "acme,default", "abcdefghijkl,abcdefgh", "a1,d1", "z9z9z9z9z9z9,zzzzzzzz", "x,default"})
    void legalInputsGiveLegalNames(String prefix, String env) {
        for (String location : new String[] {"eastus", "australiasoutheast", "germanywestcentral"}) {
            Stack s = stack(prefix, env, location);
            assertTrue(STORAGE.matcher(s.storageAccount()).matches(), s.storageAccount());
            assertTrue(POSTGRES.matcher(s.postgresServer()).matches(), s.postgresServer());
            assertTrue(AKS.matcher(s.aks()).matches(), s.aks());
            assertTrue(DNS_PREFIX.matcher(s.aksDnsPrefix()).matches(), s.aksDnsPrefix());
            assertTrue(POOL.matcher(s.systemPool()).matches() && POOL.matcher(s.workerPool()).matches());
            assertTrue(GROUP.matcher(s.resourceGroup()).matches(), s.resourceGroup());
            assertTrue(s.dnsZone().endsWith(".postgres.database.azure.com"));
        }
    }

    @Test
    void longestInputsFitTheStorageLimitExactly() {
        Stack s = stack("abcdefghijkl", "abcdefgh", "eastus");
        assertEquals(24, s.storageAccount().length());
    }

    @Test
    void namesAreDeterministicAndDistinctPerStack() {
        assertEquals(stack("acme", "dev", "eastus").names(), stack("acme", "dev", "eastus").names());
        assertNotEquals(stack("acme", "dev", "eastus").storageAccount(), stack("acme", "prod", "eastus").storageAccount());
        assertNotEquals(stack("acme", "dev", "eastus").resourceGroup(), stack("acme", "dev", "westus").resourceGroup());
        assertEquals("acme-dev", stack("acme", "dev", "eastus").tags().get(Stack.TAG_STACK));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''|default|--prefix", "abcdefghijklm|default|--prefix", "Acme|default|--prefix", "ac-me|default|--prefix",
            "1acme|default|--prefix", "acmé|default|--prefix", "ac_me|default|--prefix", "acme|abcdefghi|--env",
            "acme|DEV|--env", "acme|d-v|--env", "acme|''|--env", "acme|9dev|--env"})
    void illegalLabelsNameTheirOption(String prefix, String env, String option) {
        var e = assertThrows(Stack.InputException.class, () -> stack(prefix, env, "eastus"));
        assertEquals(option, e.option);
        assertTrue(e.getMessage().contains("example: " + option), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"moon", "east-us", "chinaeast2", ""})
    void unknownRegionsAreRefused(String location) {
        assertEquals("--location", assertThrows(Stack.InputException.class, () -> stack("acme", "dev", location)).option);
    }

    @Test
    void regionNamesAreNormalised() {
        assertEquals("eastus", stack("acme", "dev", "East US").location());
        assertEquals("chinaeast2", Stack.of("acme", "dev", "chinaeast2", Clouds.CHINA).location());
        assertTrue(Stack.of("acme", "dev", "chinaeast2", Clouds.CHINA).dnsZone()
                .endsWith(".postgres.database.chinacloudapi.cn"));
    }

    static Settings with(String field, Object v) {
        var d = Defaults.settings();
        return new Settings(
                field.equals("systemVm") ? (String) v : d.systemVmSize(), d.systemMin(), d.systemMax(),
                field.equals("workerVm") ? (String) v : d.workerVmSize(),
                field.equals("wmin") ? (Integer) v : d.workersMin(), field.equals("wmax") ? (Integer) v : d.workersMax(),
                field.equals("k8s") ? (String) v : d.kubernetesVersion(),
                field.equals("pgv") ? (String) v : d.postgresVersion(), field.equals("pgsku") ? (String) v : d.postgresSku(),
                d.postgresStorageGb(), false,
                field.equals("db") ? (String) v : d.dbSubnetCidr(), field.equals("k8snet") ? (String) v : d.k8sSubnetCidr(),
                field.equals("pod") ? (String) v : d.podCidr());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "systemVm|D2s_v5|--system-vm-size", "workerVm|standard d4|--worker-vm-size", "k8s|latest|--kubernetes-version",
            "pgv|12|--postgres-version", "pgsku|B2s|--postgres-sku", "pgsku|Standard_F2s|--postgres-sku",
            "db|172.16.0.0|--db-subnet", "db|172.16.0.0/29|--db-subnet", "db|300.1.0.0/24|--db-subnet",
            "k8snet|172.16.0.0/16|--k8s-subnet", "k8snet|10.0.0.0/16|--k8s-subnet"})
    void badSettingsNameTheirOption(String field, String value, String option) {
        Settings s = with(field, value);
        assertEquals(option, assertThrows(Stack.InputException.class, s::checked).option);
    }

    @Test
    void autoscaleBoundsMustBeOrdered() {
        var minAboveMax = new Settings("Standard_D2s_v5", 1, 3, "Standard_D4s_v5", 5, 2, null, "16", "Standard_B2s", 32, false,
                "172.16.0.0/24", "172.17.0.0/16", "10.244.0.0/16");
        assertEquals("--workers-max", assertThrows(Stack.InputException.class,
                minAboveMax::checked).option);
        assertEquals("--workers-min", assertThrows(Stack.InputException.class,
                with("wmin", -1)::checked).option);
        assertEquals("--workers-max", assertThrows(Stack.InputException.class,
                with("wmax", 1001)::checked).option);
        assertEquals("GeneralPurpose", with("pgsku", "Standard_D2ds_v5").postgresTier());
    }
}
