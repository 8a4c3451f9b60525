import azure.AzureLogin;
import fake.AzureFake;
import fake.ScriptRun;
import java.nio.file.Path;
import java.util.Map;

/**
 * provision.java against an Azure fake whose cluster, database, storage and network take seconds each, in a process of
 * its own, so that a test can watch the live status line in a real pseudo-terminal. Usage: SlowProvision HOME [args...]
 */
public final class SlowProvision {
    public static void main(String[] args) {
        AzureFake fake = new AzureFake()
                .latency("microsoft.containerservice/managedclusters", 4500, null)
                .latency("microsoft.dbforpostgresql/flexibleservers", 4000, null)
                .latency("microsoft.storage/storageaccounts", 2500, null)
                .latency("microsoft.network/virtualnetworks", 1500, null);
        AzureLogin.Host host = AzureLogin.Host.of(Map.of("HOME", args[0]), args[0]);
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        System.exit(provision.run(rest, host, ScriptRun.signedIn(fake), System.out, System.err));
    }
}
