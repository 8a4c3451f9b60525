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

    /** A Secret as the server returns it: data base64 in canonical form. */
    static final String STORED_SECRET = "{'kind':'Secret','metadata':{'name':'s','uid':'u'},'type':'Opaque','data':{'k':'"
            + java.util.Base64.getEncoder().encodeToString("a long enough value to wrap at seventy-six characters in MIME base64".getBytes()) + "'}}";

    @Test
    void secretValuesCompareAsTheirBytesNotTheirText() {
        String mime = java.util.Base64.getMimeEncoder().encodeToString("a long enough value to wrap at seventy-six characters in MIME base64".getBytes())
                .replace("\r\n", "\\n");
        assertTrue(mime.contains("\\n"), mime);
        // The same bytes written with a line break in their base64 are the same Secret.
        assertTrue(contains(STORED_SECRET, "{'kind':'Secret','metadata':{'name':'s'},'data':{'k':'" + mime + "'}}"));
        // stringData is kept in data by the server: the same value is the same Secret.
        assertTrue(contains(STORED_SECRET, "{'kind':'Secret','metadata':{'name':'s'},'stringData':{'k':'a long enough value to wrap at seventy-six characters in MIME base64'}}"));
        assertFalse(contains(STORED_SECRET, "{'kind':'Secret','metadata':{'name':'s'},'stringData':{'k':'another value'}}"));
        assertFalse(contains(STORED_SECRET, "{'kind':'Secret','metadata':{'name':'s'},'data':{'k':'" + java.util.Base64.getEncoder().encodeToString("x".getBytes()) + "'}}"));
        assertFalse(contains(STORED_SECRET, "{'kind':'Secret','metadata':{'name':'s'},'stringData':{'other':'x'}}"));
        assertFalse(contains(STORED_SECRET, "{'kind':'Secret','metadata':{'name':'s'},'type':'kubernetes.io/tls','data':{}}"));
    }
}
