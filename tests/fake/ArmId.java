package fake;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A parsed ARM path: scope, provider namespace, resource type segments and names. */
record ArmId(String sub, String rg, String scope, String ns, List<String> typeSegs, List<String> names,
             String typeLower, boolean collection, String path) {

    static ArmId parse(String path) {
        String[] segs = split(path);
        if (segs.length < 2 || !segs[0].equalsIgnoreCase("subscriptions")) return null;
        String sub = segs[1];
        String rg = segs.length >= 4 && segs[2].equalsIgnoreCase("resourceGroups") ? segs[3] : null;
        if (segs.length == 4 && rg != null) {
            return new ArmId(sub, rg, "/subscriptions/" + sub, "Microsoft.Resources", List.of("resourceGroups"),
                    List.of(rg), ArmCore.RG, false, path);
        }
        int p = -1;
        for (int i = segs.length - 2; i >= 2; i--) {
            if (segs[i].equalsIgnoreCase("providers")) {
                p = i;
                break;
            }
        }
        if (p < 0 || p + 2 >= segs.length) return null;
        String ns = segs[p + 1];
        List<String> types = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = p + 2; i < segs.length; i++) {
            if ((i - p) % 2 == 0) types.add(segs[i]); else names.add(segs[i]);
        }
        StringBuilder scope = new StringBuilder();
        for (int i = 0; i < p; i++) scope.append('/').append(segs[i]);
        String tl = (ns + "/" + String.join("/", types)).toLowerCase(Locale.ROOT);
        return new ArmId(sub, rg, scope.toString(), ns, types, names, tl, types.size() > names.size(), path);
    }

    String parentId() {
        int cut = path.lastIndexOf('/');
        cut = path.lastIndexOf('/', cut - 1);
        return path.substring(0, cut);
    }

    String name() { return names.isEmpty() ? null : names.get(names.size() - 1); }

    /** Lower-cased id of the resource group this id is in. */
    String rgKey() {
        return ("/subscriptions/" + sub + "/resourcegroups/" + rg).toLowerCase(Locale.ROOT);
    }

    /** Types and names alternating, as ARM's not-found messages spell a nested resource. */
    List<String> interleaved() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < typeSegs.size(); i++) {
            out.add(typeSegs.get(i));
            if (i < names.size()) out.add(names.get(i));
        }
        return out;
    }

    /** The id Azure would answer: keywords, namespaces and type segments in canonical casing (from segments), names as written. */
    static String canonical(String path, Map<String, String> segments) {
        String[] segs = split(path);
        StringBuilder b = new StringBuilder();
        int p = -1;
        for (int i = 0; i < segs.length; i++) {
            String seg = segs[i];
            boolean canon;
            boolean providersHere = seg.equalsIgnoreCase("providers") && (p < 0 ? i == 2 || i == 4 : (i - p) % 2 == 0);
            if (providersHere) {
                p = i;
                canon = true;
            } else if (p < 0) {
                canon = i == 0 || i == 2;
            } else {
                canon = i == p + 1 || (i - p) % 2 == 0;
            }
            String c = canon ? segments.get(seg.toLowerCase(Locale.ROOT)) : null;
            b.append('/').append(c != null ? c : seg);
        }
        return b.toString();
    }

    static String[] split(String path) {
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) if (!s.isEmpty()) out.add(s);
        return out.toArray(new String[0]);
    }
}
