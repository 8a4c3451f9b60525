package engine;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The rules of {@link Json}: what counts as a difference between desired and actual, and how documents are merged. */
class JsonTest {

    /** JSON written with single quotes, to keep the documents readable here. */
    static JsonNode j(String text) {
        return Json.parse(text.replace('\'', '"'));
    }

    static List<String> diff(String desired, String actual, String... ignore) {
        return Json.differences(j(desired), j(actual), Set.of(ignore));
    }

    // --- differences ---------------------------------------------------------------------------------------

    @Test
    void fieldsOnlyAzureHasAreNotDifferences() {
        assertEquals(List.of(), diff("{'location':'eastus'}", "{'location':'eastus','id':'/x','etag':'1','properties':{'a':1}}"));
    }

    @Test
    void aDifferingNestedValueIsNamedByItsJsonPointer() {
        assertEquals(List.of("/properties/sku/tier"),
                diff("{'properties':{'sku':{'name':'B2s','tier':'Burstable'}}}", "{'properties':{'sku':{'name':'B2s','tier':'GeneralPurpose'}}}"));
    }

    @Test
    void everyDifferingFieldIsListedInTheDesiredDocumentsOrder() {
        assertEquals(List.of("/b", "/a"), diff("{'b':1,'c':2,'a':3}", "{'a':4,'b':5,'c':2}"));
    }

    @Test
    void aFieldMissingFromActualIsADifference() {
        assertEquals(List.of("/properties/version"), diff("{'properties':{'version':'16'}}", "{'properties':{}}"));
    }

    @Test
    void aFieldThatIsNullInActualCountsAsMissing() {
        assertEquals(List.of("/properties/version"), diff("{'properties':{'version':'16'}}", "{'properties':{'version':null}}"));
        assertEquals(List.of(), diff("{'properties':{'zones':[]}}", "{'properties':{'zones':null}}"), "so an empty array is satisfied by it");
    }

    @Test
    void aWhollyMissingActualIsOneDifferenceAtTheRoot() {
        assertEquals(List.of("/"), Json.differences(j("{'a':1}"), Json.MAPPER.missingNode(), Set.of()));
        assertEquals(List.of("/"), Json.differences(j("{'a':1}"), null, Set.of()));
    }

    @Test
    void aDesiredNullOrEmptyArrayIsSatisfiedByAnAbsentField() {
        assertEquals(List.of(), diff("{'a':null,'b':[]}", "{}"));
        assertEquals(List.of("/c"), diff("{'c':[1]}", "{}"), "a non-empty array is still wanted");
        assertEquals(List.of("/d"), diff("{'d':{}}", "{}"), "an empty object is not excused like an empty array");
    }

    @Test
    void fieldNamesMatchWhateverCasingAzureReturns() {
        assertEquals(List.of(), diff("{'properties':{'enableRbac':true}}", "{'Properties':{'enableRBAC':true}}"));
    }

    @Test
    void stringValuesCompareIgnoringCase() {
        assertEquals(List.of(), diff("{'location':'eastus','id':'/subscriptions/S/resourceGroups/rg'}",
                "{'location':'EastUS','id':'/subscriptions/s/resourcegroups/RG'}"));
        assertEquals(List.of("/location"), diff("{'location':'eastus'}", "{'location':'eastus2'}"));
    }

    @Test
    void numbersCompareByValueNotByRepresentation() {
        assertEquals(List.of(), diff("{'n':2,'m':1.5}", "{'n':2.0,'m':1.50}"));
        assertEquals(List.of("/n"), diff("{'n':2}", "{'n':3}"));
    }

    @Test
    void aScalarMatchesTheSameValueWrittenAsText() {
        assertEquals(List.of(), diff("{'n':3,'b':true}", "{'n':'3','b':'True'}"));
        assertEquals(List.of("/b"), diff("{'b':true}", "{'b':false}"));
    }

    @Test
    void anObjectWhereActualHasAScalarIsOneDifferenceAtThatPath() {
        assertEquals(List.of("/p"), diff("{'p':{'x':1,'y':2}}", "{'p':'text'}"));
    }

    @Test
    void anArrayWhereActualHasNoArrayIsOneDifferenceAtThatPath() {
        assertEquals(List.of("/p"), diff("{'p':[1,2]}", "{'p':{'0':1}}"));
    }

    @Test
    void arraysOfNamedObjectsMatchByNameInAnyOrderAndNameThePathByIt() {
        String actual = "{'pools':[{'name':'User','count':5},{'name':'system','count':1,'vmSize':'D2'}]}";
        assertEquals(List.of(), diff("{'pools':[{'name':'system','count':1},{'name':'user','count':5}]}", actual));
        assertEquals(List.of("/pools/user/count"), diff("{'pools':[{'name':'system','count':1},{'name':'user','count':3}]}", actual));
    }

    @Test
    void aNamedElementActualLacksIsADifferenceNamedByIt() {
        assertEquals(List.of("/pools/gpu"), diff("{'pools':[{'name':'gpu','count':1}]}", "{'pools':[{'name':'system','count':1}]}"));
    }

    @Test
    void extraNamedElementsInActualAreNotDifferences() {
        assertEquals(List.of(), diff("{'pools':[{'name':'system'}]}", "{'pools':[{'name':'system'},{'name':'other'}]}"));
    }

    @Test
    void otherArraysOfTheSameSizeCompareElementByElement() {
        assertEquals(List.of("/ips/1"), diff("{'ips':['10.0.0.1','10.0.0.2']}", "{'ips':['10.0.0.1','10.0.0.9']}"));
        assertEquals(List.of(), diff("{'rules':[{'port':1},{'port':2}]}", "{'rules':[{'port':1,'x':0},{'port':2}]}"));
    }

    @Test
    void otherArraysOfDifferentSizesAreOneDifferenceAtTheArray() {
        assertEquals(List.of("/ips"), diff("{'ips':['a','b']}", "{'ips':['a','b','c']}"));
    }

    @Test
    void anIgnoredPointerAndEverythingBelowItIsNotCompared() {
        assertEquals(List.of(), diff("{'properties':{'administratorLoginPassword':'s3cret','auth':{'a':1}}}", "{'properties':{}}",
                "/properties/administratorLoginPassword", "/properties/auth"));
        assertEquals(List.of("/properties/auth"), diff("{'properties':{'administratorLoginPassword':'s3cret','auth':{'a':1}}}", "{'properties':{}}",
                "/properties/administratorLoginPassword"), "only the ignored pointer is skipped");
    }

    @Test
    void anIgnoredPointerMayNameAnArrayElementByItsName() {
        assertEquals(List.of("/pools/system/count"), diff("{'pools':[{'name':'user','count':4},{'name':'system','count':2}]}",
                "{'pools':[{'name':'user','count':1},{'name':'system','count':1}]}", "/pools/user/count"));
    }

    // --- overlay -------------------------------------------------------------------------------------------

    @Test
    void overlayKeepsWhatOnlyActualHasAndTakesDesiredValuesOverIt() {
        JsonNode out = Json.overlay(j("{'id':'/x','properties':{'a':1,'b':2}}"), j("{'properties':{'b':3,'c':4}}"));
        assertEquals(j("{'id':'/x','properties':{'a':1,'b':3,'c':4}}"), out);
    }

    @Test
    void overlayReplacesAFieldSpelledWithOtherCasingInsteadOfAddingASecond() {
        JsonNode out = Json.overlay(j("{'enableRBAC':false,'keep':1}"), j("{'enableRbac':true}"));
        assertEquals(j("{'keep':1,'enableRbac':true}"), out);
    }

    @Test
    void overlayMergesNamedArraysByNameKeepingActualsOrderAndAppendingNewOnes() {
        JsonNode out = Json.overlay(j("{'pools':[{'name':'system','count':1,'mode':'System'},{'name':'user','count':2}]}"),
                j("{'pools':[{'name':'gpu','count':1},{'name':'SYSTEM','count':3}]}"));
        assertEquals(j("{'pools':[{'name':'SYSTEM','count':3,'mode':'System'},{'name':'user','count':2},{'name':'gpu','count':1}]}"), out);
    }

    @Test
    void overlayReplacesOtherArraysAndScalarsWhole() {
        assertEquals(j("{'ips':['c'],'n':2}"), Json.overlay(j("{'ips':['a','b'],'n':1}"), j("{'ips':['c'],'n':2}")));
    }

    @Test
    void overlayOnNothingIsACopyOfDesired() {
        JsonNode desired = j("{'a':{'b':1}}");
        JsonNode out = Json.overlay(null, desired);
        assertEquals(desired, out);
        ((ObjectNode) out.get("a")).put("b", 2);
        assertEquals(1, desired.at("/a/b").asInt(), "the copy is not the same tree");
    }

    @Test
    void overlayLeavesItsInputsUnchanged() {
        JsonNode actual = j("{'p':{'a':1},'pools':[{'name':'x','n':1}]}");
        JsonNode desired = j("{'p':{'a':2},'pools':[{'name':'x','n':2}]}");
        Json.overlay(actual, desired);
        assertEquals(j("{'p':{'a':1},'pools':[{'name':'x','n':1}]}"), actual);
        assertEquals(j("{'p':{'a':2},'pools':[{'name':'x','n':2}]}"), desired);
    }

    // --- keep ----------------------------------------------------------------------------------------------

    static JsonNode keep(String body, String current, String pointer, String... readOnly) {
        ObjectNode b = (ObjectNode) j(body);
        Json.keep(b, j(current), pointer, Set.of(readOnly));
        return b;
    }

    @Test
    void keepCopiesCurrentsValueIntoABodyThatLacksIt() {
        assertEquals(j("{'location':'eastus','tags':{'owner':'ops'}}"),
                keep("{'location':'eastus'}", "{'tags':{'owner':'ops'}}", "/tags"));
    }

    @Test
    void keepLetsTheBodysOwnValuesWinOverCurrents() {
        assertEquals(j("{'tags':{'owner':'ops','env':'prod'}}"),
                keep("{'tags':{'env':'prod'}}", "{'tags':{'owner':'ops','env':'test'}}", "/tags"));
    }

    @Test
    void keepDropsReadOnlyKeysAtAnyDepth() {
        assertEquals(j("{'properties':{'net':{'lb':{'ips':[{'id':'a'}]}}}}"),
                keep("{'properties':{}}", "{'properties':{'net':{'etag':'1','lb':{'ips':[{'id':'a','etag':'2'}]}}}}", "/properties/net", "etag"));
    }

    @Test
    void keepDoesNothingWhenCurrentHasNoValueThere() {
        assertEquals(j("{'properties':{}}"), keep("{'properties':{}}", "{'properties':{'other':1}}", "/properties/net"));
    }

    @Test
    void keepDoesNothingWhenTheBodyLacksTheParent() {
        assertEquals(j("{'location':'eastus'}"), keep("{'location':'eastus'}", "{'properties':{'net':{'a':1}}}", "/properties/net"));
    }

    @Test
    void keepMergesIntoTheNamedArrayElementOrAddsIt() {
        String current = "{'pools':[{'name':'user','count':7,'vmSize':'D4'}]}";
        assertEquals(j("{'pools':[{'name':'User','count':7,'vmSize':'D8'}]}"),
                keep("{'pools':[{'name':'User','vmSize':'D8'}]}", current, "/pools/user"));
        assertEquals(j("{'pools':[{'name':'system'},{'name':'user','count':7,'vmSize':'D4'}]}"),
                keep("{'pools':[{'name':'system'}]}", current, "/pools/user"));
    }

    // --- at ------------------------------------------------------------------------------------------------

    @Test
    void atFollowsFieldsWithoutRegardToCaseAndArrayElementsByName() {
        JsonNode doc = j("{'Properties':{'pools':[{'name':'System','count':2}]}}");
        assertEquals(2, Json.at(doc, "/properties/pools/system/count").asInt());
        assertSame(doc, Json.at(doc, ""), "the empty pointer is the document");
    }

    @Test
    void atIsNullForAbsentAndNullValuesAndThroughScalars() {
        JsonNode doc = j("{'a':{'b':null,'s':'text'}}");
        assertNull(Json.at(doc, "/a/b"));
        assertNull(Json.at(doc, "/a/missing"));
        assertNull(Json.at(doc, "/a/s/deeper"));
        assertNull(Json.at(doc, "/x/y/z"));
    }

    // --- tags ----------------------------------------------------------------------------------------------

    @Test
    void tagsBuildAnObjectAndTagsOfReadsItBack() {
        Map<String, String> tags = Map.of("metaflow-stack", "acme-default", "owner", "ops");
        ObjectNode resource = Json.obj();
        resource.set("tags", Json.tags(tags));
        assertEquals("acme-default", resource.at("/tags/metaflow-stack").asText());
        assertEquals(tags, Json.tagsOf(resource));
    }

    @Test
    void tagsOfAResourceWithoutATagObjectIsEmpty() {
        assertEquals(Map.of(), Json.tagsOf(j("{'location':'eastus'}")));
        assertEquals(Map.of(), Json.tagsOf(j("{'tags':null}")));
        assertEquals(Map.of(), Json.tagsOf(j("{'tags':'a=b'}")));
    }
}
