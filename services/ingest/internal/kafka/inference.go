package kafka

import "github.com/medic-sre/medic/pkg/inferencemap"

// The inference mapping lives in pkg/inferencemap, shared with the
// detector's scenario suite; these names keep the source's code short.
type (
	// Mapping says which fields of an inference record hold what.
	Mapping = inferencemap.Mapping
	// RecordError says why a record cannot become points.
	RecordError = inferencemap.RecordError
)

// Reasons a record cannot be mapped, and the points a record becomes.
const (
	ReasonMalformedJSON  = inferencemap.ReasonMalformedJSON
	ReasonInvalidUTF8    = inferencemap.ReasonInvalidUTF8
	ReasonWrongType      = inferencemap.ReasonWrongType
	ReasonNonFinite      = inferencemap.ReasonNonFinite
	ReasonOutOfRange     = inferencemap.ReasonOutOfRange
	ReasonBadTimestamp   = inferencemap.ReasonBadTimestamp
	ReasonMissingField   = inferencemap.ReasonMissingField
	ReasonInvalidEvent   = inferencemap.ReasonInvalidEvent
	PointLatency         = inferencemap.PointLatency
	PointPrediction      = inferencemap.PointPrediction
	PointLabel           = inferencemap.PointLabel
	PointFeaturesMissing = inferencemap.PointFeaturesMissing
	AttrPredictionID     = inferencemap.AttrPredictionID
)

// ErrUnmappable marks a record that can never become points.
var ErrUnmappable = inferencemap.ErrUnmappable

// ReasonOf is the reason of a RecordError in err, or "" when there is none.
func ReasonOf(err error) string { return inferencemap.ReasonOf(err) }

var (
	decodeObject = inferencemap.DecodeObject
	reject       = inferencemap.Reject
)

var checkValue = inferencemap.CheckValue

const maxUnixNano = inferencemap.MaxUnixNano
