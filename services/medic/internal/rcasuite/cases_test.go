package rcasuite

// candidate is one ranked candidate of POST /v1/analyses, as far as the
// suite reads it.
type candidate struct {
	Rank         int                `json:"rank"`
	Score        float64            `json:"score"`
	ScoreParts   map[string]float64 `json:"score_parts"`
	Name         string             `json:"name"`
	ID           string             `json:"id"`
	Kind         string             `json:"kind"`
	ChangeID     string             `json:"change_id"`
	Service      string             `json:"service"`
	Model        string             `json:"model"`
	ModelVersion string             `json:"model_version"`
}

// truth says whether a candidate is the true cause of a fault; changeID
// is the change the fault's injection announced, if any. The suite knows
// it only to score: the rca never sees it.
type truth func(c candidate, changeID string) bool

// faultKind is one kind of fault the suite plays, with the symptom a user
// would page on and the true causes.
type faultKind struct {
	kind string
	// metric is the gateway's span signal that shows the fault: latency
	// or error; or logs, the warning and error records per second of
	// symptomService, for a failure nothing but its logs show.
	metric string
	// symptomService is whose symptom a user pages on: the gateway when
	// empty.
	symptomService string
	truth          truth
	// bystander is a service the fault leaves alone, whose benign change
	// lands during the fault.
	bystander string
}

func service(name string) truth {
	return func(c candidate, _ string) bool { return c.Kind == "service" && c.ID == "service:"+name }
}

// kinds are the faults of issue 10. A change that names the culprit is as
// good as the culprit: it is what a responder would roll back.
var kinds = []faultKind{
	{kind: "bad_model_version", metric: "error", bystander: "feature-service", truth: func(c candidate, _ string) bool {
		return (c.Kind == "model_version" || c.Kind == "change") && c.Model == "fraud" && c.ModelVersion == "v2"
	}},
	// The null feature itself names the fault as well as the service that
	// serves it.
	{kind: "feature_nulls", metric: "error", bystander: "gateway", truth: func(c candidate, id string) bool {
		return c.ID == "feature:fraud/merchant_risk" || service("feature-service")(c, id)
	}},
	{kind: "slow_dependency", metric: "latency", bystander: "gateway", truth: service("feature-service")},
	{kind: "erroring_dependency", metric: "error", bystander: "model-server", truth: service("feature-service")},
	// The culprit is the one exhausted instance (its pod), not the
	// model-server as a whole.
	{kind: "cpu_exhaustion", metric: "latency", bystander: "feature-service", truth: func(c candidate, _ string) bool {
		return c.ID == "instance:model-server/model-server-1" || c.Name == "model-server-1"
	}},
	// The config change, or the model-server named with that change as
	// what broke it.
	{kind: "config_change", metric: "latency", bystander: "feature-service", truth: func(c candidate, id string) bool {
		return id != "" && c.ChangeID == id && (c.Kind == "change" || c.ID == "service:model-server")
	}},
	// The feature-service serves nulls because its upstream store has no
	// rows: the store is the root, not the service that passes them on.
	{kind: "upstream_data_outage", metric: "error", bystander: "gateway", truth: service("feature-store")},
	// A log-only failure shows in nothing but the feature-service's logs:
	// a user pages on its error logs, and the culprit is the new template
	// (or the service that logs it).
	{kind: "log_errors", metric: "logs", symptomService: "feature-service", bystander: "gateway",
		truth: func(c candidate, id string) bool {
			return c.Kind == "log_template" && c.Service == "feature-service" || service("feature-service")(c, id)
		}},
}
