package cluster;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import org.junit.jupiter.api.Test;

/** {@link Kube#contains}: whether the cluster's copy of an object already holds everything a manifest says. */
class KubeCompareTest {

    static JsonNode j(String text) {
        return Json.parse(text.replace('\'', '"'));
    }

    static boolean contains(String actual, String desired) {
        return Kube.contains(j(actual), j(desired));
    }

    @Test
    void fieldsTheServerAddsAreIgnored() {
        assertTrue(contains("{'metadata':{'name':'ui','uid':'u-1','resourceVersion':'7','labels':{'a':'1','added':'x'}},"
                + "'spec':{'replicas':1,'revisionHistoryLimit':10},'status':{'readyReplicas':1}}",
                "{'metadata':{'name':'ui','labels':{'a':'1'}},'spec':{'replicas':1}}"));
    }

    @Test
    void aFieldTheClusterLacksIsNotContained() {
        assertFalse(contains("{'metadata':{'name':'ui'}}", "{'metadata':{'name':'ui','labels':{'a':'1'}}}"));
    }

    @Test
    void aDifferentValueIsNotContained() {
        assertFalse(contains("{'spec':{'replicas':2}}", "{'spec':{'replicas':1}}"));
    }

    @Test
    void valuesCompareAsTextSoQuotedNumbersMatch() {
        assertTrue(contains("{'port':8080,'flag':true}", "{'port':'8080','flag':'true'}"));
        assertTrue(contains("{'port':'8080'}", "{'port':8080}"));
    }

    @Test
    void valuesCompareWithCase() {
        assertFalse(contains("{'imagePullPolicy':'always'}", "{'imagePullPolicy':'Always'}"));
    }

    @Test
    void anEmptyObjectOrListIsSatisfiedByAnAbsentField() {
        assertTrue(contains("{'metadata':{'name':'x'},'spec':{}}", "{'metadata':{'name':'x','annotations':{}},'spec':{'ports':[]}}"));
        assertFalse(contains("{}", "{'spec':{'ports':[{'port':80}]}}"));
    }

    @Test
    void aNullOrMissingDesiredValueIsAlwaysSatisfied() {
        assertTrue(Kube.contains(j("{'a':1}"), null));
        assertTrue(contains("{'a':1}", "{'a':null}"));
        assertTrue(contains("{}", "{'a':null}"));
    }

    @Test
    void listsCompareElementByElementEachASubset() {
        String actual = "{'containers':[{'name':'app','image':'a:1','terminationMessagePath':'/dev/termination-log'},{'name':'proxy','image':'p:1'}]}";
        assertTrue(contains(actual, "{'containers':[{'name':'app','image':'a:1'},{'name':'proxy'}]}"));
        assertFalse(contains(actual, "{'containers':[{'name':'app','image':'a:2'},{'name':'proxy'}]}"));
    }

    @Test
    void listsOfAnotherLengthAreNotContained() {
        assertFalse(contains("{'args':['a','b','c']}", "{'args':['a','b']}"));
        assertFalse(contains("{'args':['a']}", "{'args':['a','b']}"));
    }

    @Test
    void listOrderMatters() {
        assertFalse(contains("{'args':['b','a']}", "{'args':['a','b']}"));
    }

    @Test
    void anObjectOrListWhereTheClusterHasAScalarIsNotContained() {
        assertFalse(contains("{'spec':'text'}", "{'spec':{'a':1}}"));
        assertFalse(contains("{'spec':'text'}", "{'spec':{}}"), "not even an empty object");
        assertFalse(contains("{'args':'a'}", "{'args':['a']}"));
    }

    @Test
    void aSecretsDataComparesAsTheBase64TheServerReturns() {
        String secret = "{'kind':'Secret','data':{'password':'czNjcmV0'}}";
        assertTrue(contains(secret, "{'kind':'Secret','data':{'password':'czNjcmV0'}}"));
        assertFalse(contains(secret, "{'kind':'Secret','data':{'password':'s3cret'}}"), "plain text is not the stored value");
    }
}
