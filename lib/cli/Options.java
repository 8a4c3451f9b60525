package cli;

import azure.AzureLogin;
import azure.Stack;
import picocli.CommandLine.Option;

/** Command-line options shared by provision.java, services.java and teardown.java. */
public final class Options {
    private Options() {}

    /** Which stack: its prefix, environment and region. */
    public static final class StackOptions {
        @Option(names = "--prefix", paramLabel = "NAME",
                description = "Short name of the stack: 1-12 lowercase letters or digits, starting with a letter (e.g. acme).")
        public String prefix;

        @Option(names = "--env", paramLabel = "NAME", defaultValue = Stack.DEFAULT_ENV,
                description = "Environment within the prefix: 1-8 lowercase letters or digits. Default: ${DEFAULT-VALUE}.")
        public String env;

        @Option(names = "--location", paramLabel = "REGION", defaultValue = Stack.DEFAULT_LOCATION,
                description = "Azure region (e.g. eastus, westeurope). Default: ${DEFAULT-VALUE}.")
        public String location;
    }

    /** Where in Azure: cloud, custom Resource Manager endpoint, subscription. */
    public static final class AzureOptions {
        @Option(names = "--subscription", paramLabel = "ID|NAME",
                description = "Subscription to use. Default: AZURE_SUBSCRIPTION_ID, else the az CLI's default, else the only one visible.")
        public String subscription;

        @Option(names = "--cloud", paramLabel = "CLOUD", defaultValue = "public",
                description = "Azure cloud: public, china or usgov. Default: ${DEFAULT-VALUE}.")
        public String cloud;

        @Option(names = "--arm-endpoint", paramLabel = "URL",
                description = "Resource Manager endpoint of a custom cloud (e.g. Azure Stack Hub); its other endpoints are read from "
                        + "<URL>/metadata/endpoints. Also taken from " + AzureLogin.ARM_ENDPOINT_ENV + ".")
        public String armEndpoint;
    }

    /** How the result is printed, and how much of the work: every script. */
    public static final class Common {
        @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "text", description = "text or json: one JSON document on stdout "
                + "(provision, teardown: the plan and how each step ended; services: the stack check's result), progress on stderr. "
                + "Default: ${DEFAULT-VALUE}.")
        public String output;

        @Option(names = {"-v", "--verbose"}, description = "Print each Azure request (method, resource, status, duration), and the libraries' warnings.")
        public boolean verbose;

        /** Whether the result is JSON on stdout; an unknown format is bad input. */
        public boolean json() {
            if (!output.equals("text") && !output.equals("json")) {
                throw new Stack.InputException("--output", "'" + output + "' is not text or json", "json");
            }
            return output.equals("json");
        }
    }

    /** --dry-run: show what would be done, and do none of it. */
    public static final class DryRun {
        @Option(names = "--dry-run", description = "Show what would be done, and change nothing: no writes to Azure, the cluster or "
                + "this machine (provision: the plan; services: every object as YAML, with no sign-in or cluster needed; "
                + "teardown: what would be deleted and kept).")
        public boolean dryRun;
    }

    /** -y/--yes: go ahead without asking. */
    public static final class Confirm {
        @Option(names = {"-y", "--yes"}, description = "Go ahead without asking for confirmation (needed where there is no terminal to ask in).")
        public boolean yes;
    }
}
