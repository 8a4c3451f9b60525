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
//SOURCES Apply.java Argo.java Arm.java AzureLogin.java Check.java Cli.java Clouds.java Connect.java Console.java Desired.java
//SOURCES Discovery.java Executor.java Forward.java Graph.java Grants.java Json.java Kept.java Kube.java LocalFiles.java Manifests.java
//SOURCES MetaflowConfig.java Options.java Pins.java Plan.java PlanView.java Preflight.java PrivateFile.java RequestLog.java
//SOURCES Removal.java Roles.java Rollout.java Script.java Secrets.java Settings.java Stack.java StackFacts.java Version.java

/** Holds the list above; nothing to run. */
final class Toolkit {
    private Toolkit() {}
}
