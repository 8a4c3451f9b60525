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
}
