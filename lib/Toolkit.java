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
//SOURCES engine/Elapsed.java engine/Executor.java engine/Json.java engine/Messages.java engine/Plan.java
//SOURCES engine/Network.java engine/PrivateFile.java engine/Secrets.java engine/Version.java
//SOURCES azure/Arm.java azure/ArmRecovery.java azure/ArmRemoval.java azure/ArmResource.java azure/AzureLogin.java azure/Clients.java
//SOURCES azure/CertificateRotation.java azure/FlowRunner.java
//SOURCES azure/Clouds.java azure/Desired.java azure/Discovery.java azure/Grants.java azure/Graph.java azure/Kept.java
//SOURCES azure/Limits.java azure/LocalFiles.java azure/Pools.java azure/Preflight.java azure/Proxies.java azure/Removal.java azure/RequestLog.java azure/Roles.java
//SOURCES azure/CacheRules.java azure/KeyVault.java azure/Registry.java azure/Settings.java azure/Stack.java azure/StackFacts.java
//SOURCES cluster/Argo.java cluster/ArgoInstall.java cluster/Catalog.java cluster/Check.java cluster/Connect.java
//SOURCES cluster/Deploy.java cluster/DevicePlugin.java cluster/DryRun.java cluster/EntraSignIn.java cluster/KubeToken.java cluster/Forward.java cluster/GranteeCheck.java cluster/Kube.java cluster/Manifests.java
//SOURCES cluster/MetaflowConfig.java cluster/Pins.java cluster/ProbeRuns.java cluster/Probes.java cluster/Rollout.java
//SOURCES cluster/Relocation.java cluster/ServiceObjects.java cluster/StackCluster.java cluster/StatusView.java
//SOURCES cli/Apply.java cli/Cli.java cli/Console.java cli/Options.java cli/PlanView.java cli/Script.java

/** Holds the list above; nothing to run. */
final class Toolkit {
    private Toolkit() {}
}
