package fake;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Azure role assignment conditions (ABAC, conditionVersion 2.0), the subset AKS documents for the Kubernetes API
 * (AKS docs "Use Microsoft Entra ID authorization for the Kubernetes API", Restrict custom resource access using ABAC
 * conditions): {@code ActionMatches{'action'}}, {@code @Request[attribute] <operator> 'value'} (or a {@code {'a','b'}}
 * list), {@code !}/{@code NOT}, {@code AND}/{@code &&}, {@code OR}/{@code ||} and parentheses, with the operators of
 * MicrosoftDocs/azure-docs articles/role-based-access-control/conditions-format.md (StringEquals[IgnoreCase],
 * StringNotEquals[IgnoreCase], StringStartsWith[IgnoreCase], StringLike, ForAnyOfAnyValues:/ForAnyOfAllValues: prefixes
 * reduced to "any value equals"). A condition the fake cannot read grants nothing: Azure refuses to store one it cannot
 * parse, so a test would otherwise pass on a condition that never works.
 */
final class Condition {
    private static final Pattern TOKEN = Pattern.compile(
            "\\s*(\\(|\\)|!|&&|\\|\\||ActionMatches\\{[^}]*\\}|SubOperationMatches\\{[^}]*\\}|@Request\\[[^\\]]*\\]|@Resource\\[[^\\]]*\\]"
                    + "|\\{[^}]*\\}|'(?:[^']|'')*'|[A-Za-z:]+)");
    private final List<String> tokens;
    private final String action;
    private final Map<String, String> attributes;
    private int pos;

    private Condition(List<String> tokens, String action, Map<String, String> attributes) {
        this.tokens = tokens;
        this.action = action;
        this.attributes = attributes;
    }

    /** Whether the condition holds for a request of this data action with these attributes; false when it cannot be read. */
    static boolean holds(String condition, String action, Map<String, String> attributes) {
        List<String> tokens = new ArrayList<>();
        Matcher m = TOKEN.matcher(condition);
        int at = 0;
        while (at < condition.length() && m.find(at) && m.start() == at) {
            tokens.add(m.group(1));
            at = m.end();
        }
        if (!condition.substring(at).isBlank()) return false;
        Condition c = new Condition(tokens, action, attributes);
        try {
            boolean v = c.or();
            return c.pos == tokens.size() && v;
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return false;
        }
    }

    private String peek() { return pos < tokens.size() ? tokens.get(pos) : ""; }

    private boolean or() {
        boolean v = and();
        while (peek().equalsIgnoreCase("OR") || peek().equals("||")) {
            pos++;
            v = and() | v;
        }
        return v;
    }

    private boolean and() {
        boolean v = not();
        while (peek().equalsIgnoreCase("AND") || peek().equals("&&")) {
            pos++;
            v = not() & v;
        }
        return v;
    }

    private boolean not() {
        if (peek().equals("!") || peek().equalsIgnoreCase("NOT")) {
            pos++;
            return !not();
        }
        return primary();
    }

    private boolean primary() {
        String t = tokens.get(pos++);
        if (t.equals("(")) {
            boolean v = or();
            if (!tokens.get(pos++).equals(")")) throw new IllegalArgumentException("expected )");
            return v;
        }
        if (t.startsWith("ActionMatches{")) {
            for (String want : values(t.substring("ActionMatches".length()))) if (glob(want, action)) return true;
            return false;
        }
        if (t.startsWith("SubOperationMatches{")) return false;
        if (t.startsWith("@Request[") || t.startsWith("@Resource[")) {
            String attr = t.substring(t.indexOf('[') + 1, t.length() - 1);
            String op = tokens.get(pos++);
            List<String> want = values(tokens.get(pos++));
            String have = attributes.get(attr);
            return compare(op, have, want);
        }
        throw new IllegalArgumentException("unexpected " + t);
    }

    private static List<String> values(String token) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("'((?:[^']|'')*)'").matcher(token);
        while (m.find()) out.add(m.group(1).replace("''", "'"));
        if (out.isEmpty()) throw new IllegalArgumentException("no value in " + token);
        return out;
    }

    private static boolean compare(String op, String have, List<String> want) {
        String o = op.contains(":") ? op.substring(op.indexOf(':') + 1) : op;
        boolean ignore = o.endsWith("IgnoreCase");
        String base = ignore ? o.substring(0, o.length() - "IgnoreCase".length()) : o;
        boolean negate = base.startsWith("StringNot");
        if (negate) base = "String" + base.substring("StringNot".length());
        boolean any = false;
        if (have != null) {
            for (String w : want) {
                String h = ignore ? have.toLowerCase(Locale.ROOT) : have;
                String x = ignore ? w.toLowerCase(Locale.ROOT) : w;
                any |= switch (base) {
                    case "StringEquals" -> h.equals(x);
                    case "StringStartsWith" -> h.startsWith(x);
                    case "StringLike" -> glob(w, have);
                    default -> throw new IllegalArgumentException("operator " + op);
                };
            }
        }
        return negate != any;
    }

    private static boolean glob(String pattern, String s) {
        String re = Pattern.quote(pattern).replace("*", "\\E.*\\Q");
        return Pattern.compile(re, Pattern.CASE_INSENSITIVE).matcher(s).matches();
    }
}
