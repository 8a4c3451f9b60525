package azure;

import engine.Plan;

/** What the Azure side's plan handlers talk to: Resource Manager and Microsoft Graph. */
public record Clients(Arm arm, Arm graph) implements Plan.Ctx {

    /** The clients a handler of this layer was given (the engine passes its context through untouched). */
    static Clients of(Plan.Ctx ctx) {
        return (Clients) ctx;
    }
}
