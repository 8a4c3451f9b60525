// Every library the scripts use and every file of lib/, listed once: each script sources this file alone.
// One by one, not as a glob: a script run from a URL cannot expand one.
//DEPS info.picocli:picocli:4.7.7
//DEPS com.azure:azure-core:1.57.0
//DEPS com.azure:azure-identity:1.18.2
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.4
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.18.4
//DEPS io.fabric8:kubernetes-client:7.4.0
//DEPS io.fabric8:kubernetes-httpclient-jdk:7.4.0
//DEPS org.slf4j:slf4j-api:2.0.17 org.slf4j:slf4j-jdk14:2.0.17
//SOURCES Apply.java Argo.java ArgoInstall.java Arm.java ArmRecovery.java ArmResource.java AzureLogin.java Catalog.java
//SOURCES Check.java Cli.java Clients.java Clouds.java Connect.java Console.java Deploy.java Desired.java Discovery.java
//SOURCES DryRun.java Elapsed.java Executor.java Forward.java Grants.java Graph.java Json.java Kept.java Kube.java
//SOURCES LocalFiles.java Manifests.java MetaflowConfig.java Options.java Pins.java Plan.java PlanView.java
//SOURCES Preflight.java PrivateFile.java ProbeRuns.java Probes.java Removal.java RequestLog.java Roles.java
//SOURCES Rollout.java Script.java Secrets.java ServiceObjects.java Settings.java Stack.java StackCluster.java
//SOURCES StackFacts.java StatusView.java Version.java

/** Holds the list above; nothing to run. */
final class Toolkit {
    private Toolkit() {}
}
